// The one S3-compatible endpoint of the tests, on loopback, standing in for DigitalOcean Spaces: Debian ships no S3
// server (MinIO is not packaged); the clients under test are the real s3cmd 2.3 and pgBackRest 2.45. Path-style only:
//   - upload: PUT Object, and the multipart upload calls s3cmd makes for files over 15 MB (initiate, upload part,
//     complete, abort); single PUTs are answered with the MD5 ETag s3cmd checks;
//   - download: HEAD/GET of stored objects (ETag, Content-Length, Last-Modified), 404 NoSuchKey for a missing one;
//   - ListObjects (GET on a bucket, with prefix; delimiter is ignored: keys are listed flat), GET ?location.
//   - ListObjectsV2 (list-type=2, pgBackRest's listing) with its delimiter: CommonPrefixes for the "directories";
//   - DELETE Object and the multi-object delete (POST ?delete) pgBackRest's expire and path removal use;
//   - with `tls`, HTTPS (pgBackRest's S3 driver talks nothing else): the client must trust the certificate.
// Every request must be signed with the one key pair it is started with (`accessKey`, `secretKey`), as Spaces checks:
//   - AWS Signature Version 4 in the Authorization header, verified in full: canonical request (method, the path
//     URI-encoded, the sorted query, the headers the client lists in SignedHeaders, the declared payload hash), string
//     to sign, signing key from the secret, the scope's date, region and service "s3"; compared in constant time.
//     A wrong secret answers 403 SignatureDoesNotMatch, another key id 403 InvalidAccessKeyId, an unsigned request
//     403 AccessDenied, an x-amz-date more than 15 minutes off 403 RequestTimeTooSkewed, an x-amz-* header left out
//     of SignedHeaders 403 AccessDenied;
//   - the payload: x-amz-content-sha256 is required; a body whose sha256 is not the declared one answers 400
//     XAmzContentSHA256Mismatch; UNSIGNED-PAYLOAD is accepted as S3 does (the body is then not checked).
//     What the clients send (logged against this stub, 2026-12): s3cmd 2.3 and pgBackRest 2.45 both send the hex
//     sha256 of every body, multipart parts included; neither sends UNSIGNED-PAYLOAD or aws-chunked uploads;
//   - Signature Version 2 ("AWS key:signature", s3cmd's signature_v2 or its fallback) answers 400 InvalidRequest
//     unless the stub is started with `acceptSigV2` (then the HMAC-SHA1 signature is verified). Spaces still takes V2;
//     the refusal is this stub's, so a test that needs V2 says so.
// What it still does not check versus Spaces: the region in the scope (any region is accepted; Spaces takes its own
// name or us-east-1), the Host header against the bucket (virtual-host style is not served at all), chunked uploads
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD answers 501: no client here sends it), query-string (presigned) auth (answers
// 403 AccessDenied), Content-MD5, bucket policies and ACLs, rate limits, eventual listing. Buckets named "denied"
// answer 403 AccessDenied to every request; any other call answers 501.
// Bodies are kept in memory in `objects`, keyed by path: "/bucket/key". Every request is logged in `requests`, with
// the error code when it was refused.
// (It merges the upload stub of the backup-script tests and the listing stub of GoodGo's off-site fetch test.)
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";

export interface S3Stub {
  endpoint: string;
  objects: Map<string, Buffer>;
  /** Every request, in order; `refused` is the S3 error code it was answered with when authentication refused it. */
  requests: { method: string; path: string; authorization: string | undefined; refused?: string }[];
  close(): Promise<void>;
}

export interface S3StubOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** The only access key id accepted. */
  accessKey: string;
  /** Its secret: every request's signature is verified with it. */
  secretKey: string;
  /** Accept Signature Version 2 requests (verified); refused with 400 InvalidRequest otherwise. */
  acceptSigV2?: boolean;
}

/** An S3 error answer: HTTP status, S3 code, message and the extra elements S3 puts in its <Error>. */
interface S3Error {
  status: number;
  code: string;
  message: string;
  extra?: Record<string, string>;
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function s3ErrorXml(e: S3Error): string {
  const extra = Object.entries(e.extra ?? {})
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message>${extra}<RequestId>s3stub</RequestId></Error>`;
}

/** The bytes a percent-encoded URI part stands for ("%" not followed by two hex digits is taken as it is). */
function percentDecode(raw: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      out.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...Buffer.from(raw[i]!, "utf8"));
    }
  }
  return Buffer.from(out);
}

/** SigV4's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ (and "/" in a path) as %XX, upper-case hex. */
function uriEncode(bytes: Buffer, keepSlash: boolean): string {
  let out = "";
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/") ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The query's pieces, name and value decoded. */
function queryPairs(rawQuery: string): [Buffer, Buffer][] {
  return rawQuery
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      return eq < 0 ? [percentDecode(p), Buffer.alloc(0)] : [percentDecode(p.slice(0, eq)), percentDecode(p.slice(eq + 1))];
    });
}

function canonicalQuery(rawQuery: string): string {
  return queryPairs(rawQuery)
    .map(([n, v]) => [uriEncode(n, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join("&");
}

const headerValue = (req: IncomingMessage, name: string): string => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v.join(",") : (v ?? "")).trim().replace(/\s+/g, " ");
};

/** Equal strings, compared in time that does not depend on where they differ. */
function sameSecretString(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  // timingSafeEqual needs equal lengths; compare y with itself to spend the same time, then answer false
  return x.length === y.length ? timingSafeEqual(x, y) : (timingSafeEqual(y, y), false);
}

/** "20261202T084900Z" (SigV4) or an HTTP date (SigV2) as epoch ms; NaN when neither. */
function requestTime(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|\+0000)$/.test(s) ? Date.parse(s) : NaN;
}

function skewed(at: number, raw: string): S3Error | undefined {
  const now = Date.now();
  if (Math.abs(now - at) <= MAX_SKEW_MS) return undefined;
  return {
    status: 403,
    code: "RequestTimeTooSkewed",
    message: "The difference between the request time and the current time is too large.",
    extra: { RequestTime: raw, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS) },
  };
}

const accessDenied = (message = "Access Denied"): S3Error => ({ status: 403, code: "AccessDenied", message });
const malformed = (message: string): S3Error => ({ status: 400, code: "AuthorizationHeaderMalformed", message });
const badKeyId = (id: string): S3Error => ({ status: 403, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records.", extra: { AWSAccessKeyId: id } });

/**
 * Verifies a request's signature and its payload hash against the stub's one key pair; the error S3 would answer, or
 * undefined when the request is authentic. `rawPath` and `rawQuery` are as the client sent them (still encoded).
 */
export function authenticate(req: IncomingMessage, rawPath: string, rawQuery: string, body: Buffer, o: S3StubOptions): S3Error | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined) {
    return /(^|&)X-Amz-(Algorithm|Signature)=/.test(rawQuery) ? accessDenied("Query-string (presigned) authentication is not served by the S3 stand-in") : accessDenied();
  }
  if (/^AWS [^:\s]+:/.test(auth)) return verifySigV2(req, rawPath, rawQuery, auth, o);
  if (!auth.startsWith("AWS4-HMAC-SHA256 ")) return { status: 400, code: "InvalidArgument", message: "Unsupported Authorization Type", extra: { ArgumentName: "Authorization", ArgumentValue: auth.split(" ")[0]! } };
  const fields = new Map<string, string>();
  for (const part of auth.slice("AWS4-HMAC-SHA256 ".length).split(/,\s*/)) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const [credential, signedHeadersField, signature] = [fields.get("Credential"), fields.get("SignedHeaders"), fields.get("Signature")];
  if (credential === undefined || signedHeadersField === undefined || signature === undefined) {
    return malformed("The authorization header is malformed; it must have Credential, SignedHeaders and Signature.");
  }
  const credParts = credential.split("/");
  if (credParts.length < 5) return malformed(`The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request", got "${credential}".`);
  const [date, region, service, terminator] = credParts.slice(-4) as [string, string, string, string];
  const keyId = credParts.slice(0, -4).join("/");
  if (!sameSecretString(keyId, o.accessKey)) return badKeyId(keyId);
  if (service !== "s3" || terminator !== "aws4_request" || !/^\d{8}$/.test(date)) {
    return malformed(`The authorization header is malformed; the credential scope must be YYYYMMDD/REGION/s3/aws4_request, got "${credParts.slice(-4).join("/")}".`);
  }
  const amzDate = headerValue(req, "x-amz-date");
  const at = requestTime(amzDate);
  if (Number.isNaN(at) || !/^\d{8}T/.test(amzDate)) return accessDenied("AWS authentication requires a valid Date or x-amz-date header");
  if (amzDate.slice(0, 8) !== date) return malformed(`The authorization header is malformed; Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  const signedHeaders = signedHeadersField.split(";");
  if (!signedHeaders.includes("host")) return accessDenied("The host header must be signed");
  const unsigned = Object.keys(req.headers).filter((h) => h.startsWith("x-amz-") && !signedHeaders.includes(h));
  if (unsigned.length) return { ...accessDenied("There were headers present in the request which were not signed"), extra: { HeadersNotSigned: unsigned.join(", ") } };
  const payloadHash = headerValue(req, "x-amz-content-sha256");
  if (payloadHash === "") return { status: 400, code: "InvalidRequest", message: "Missing required header for this request: x-amz-content-sha256" };
  if (payloadHash === "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
    return { status: 501, code: "NotImplemented", message: "The S3 stand-in does not verify aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) uploads: no client under test sends them" };
  }
  if (payloadHash !== "UNSIGNED-PAYLOAD" && !/^[0-9a-f]{64}$/.test(payloadHash)) {
    return { status: 400, code: "InvalidArgument", message: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.", extra: { ArgumentName: "x-amz-content-sha256", ArgumentValue: payloadHash } };
  }
  const canonicalRequest = [
    req.method ?? "",
    uriEncode(percentDecode(rawPath), true),
    canonicalQuery(rawQuery),
    signedHeaders.map((h) => `${h}:${headerValue(req, h)}\n`).join(""),
    signedHeadersField,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${o.secretKey}`, date), region), "s3"), "aws4_request");
  const expected = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  if (!sameSecretString(signature, expected)) {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      extra: { AWSAccessKeyId: keyId, StringToSign: stringToSign, SignatureProvided: signature, CanonicalRequest: canonicalRequest },
    };
  }
  const tooFar = skewed(at, amzDate);
  if (tooFar) return tooFar;
  if (payloadHash !== "UNSIGNED-PAYLOAD") {
    const computed = createHash("sha256").update(body).digest("hex");
    if (computed !== payloadHash) {
      return { status: 400, code: "XAmzContentSHA256Mismatch", message: "The provided 'x-amz-content-sha256' header does not match what was computed.", extra: { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: computed } };
    }
  }
  return undefined;
}

// The sub-resources a SigV2 string to sign includes (S3's list).
const SIGV2_SUBRESOURCES = new Set(["acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy", "requestPayment", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website"]);

function verifySigV2(req: IncomingMessage, rawPath: string, rawQuery: string, auth: string, o: S3StubOptions): S3Error | undefined {
  if (!o.acceptSigV2) {
    return { status: 400, code: "InvalidRequest", message: "The S3 stand-in refuses Signature Version 2 (start it with acceptSigV2 to verify it); sign with AWS4-HMAC-SHA256 (s3cmd: no signature_v2)" };
  }
  const m = /^AWS ([^:\s]+):(\S+)$/.exec(auth);
  if (!m) return malformed("The authorization header is malformed; expecting AWS <key>:<signature>.");
  const [, keyId, signature] = m as unknown as [string, string, string];
  if (!sameSecretString(keyId, o.accessKey)) return badKeyId(keyId);
  const rawDate = headerValue(req, "x-amz-date") || headerValue(req, "date");
  const at = requestTime(rawDate);
  if (Number.isNaN(at)) return accessDenied("AWS authentication requires a valid Date or x-amz-date header");
  const amzHeaders = Object.keys(req.headers)
    .filter((h) => h.startsWith("x-amz-"))
    .sort()
    .map((h) => `${h}:${headerValue(req, h)}\n`)
    .join("");
  const sub = rawQuery
    .split("&")
    .filter((p) => SIGV2_SUBRESOURCES.has(p.split("=")[0]!))
    .sort()
    .join("&");
  // with an x-amz-date (among the x-amz-* lines) the Date line is empty
  const dateLine = req.headers["x-amz-date"] === undefined ? headerValue(req, "date") : "";
  const stringToSign = [req.method ?? "", headerValue(req, "content-md5"), headerValue(req, "content-type"), dateLine, ""].join("\n") + amzHeaders + rawPath + (sub ? `?${sub}` : "");
  const expected = createHmac("sha1", o.secretKey).update(stringToSign).digest("base64");
  if (!sameSecretString(signature, expected)) {
    return {
      status: 403,
      code: "SignatureDoesNotMatch",
      message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      extra: { AWSAccessKeyId: keyId, StringToSign: stringToSign, SignatureProvided: signature },
    };
  }
  return skewed(at, rawDate);
}

export function startS3Stub(options: S3StubOptions): Promise<S3Stub> {
  if (!options.accessKey || !options.secretKey) throw new Error("startS3Stub: accessKey and secretKey are required (the key pair the client under test signs with)");
  const objects = new Map<string, Buffer>();
  const requests: S3Stub["requests"] = [];
  const uploads = new Map<string, Map<number, Buffer>>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const [rawPath, query] = q < 0 ? [url, ""] : [url.slice(0, q), url.slice(q + 1)];
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      path = rawPath;
    }
    const params = new URLSearchParams(query);
    const logged: S3Stub["requests"][number] = { method: req.method ?? "", path, authorization: req.headers.authorization };
    requests.push(logged);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const refused = authenticate(req, rawPath, query, Buffer.concat(chunks), options);
      if (refused) {
        logged.refused = refused.code;
        // (the header is the stub's own: a HEAD answer has no body, and a test reads the code from the client's report)
        res.writeHead(refused.status, { "content-type": "application/xml", "x-s3stub-refused": refused.code });
        res.end(s3ErrorXml(refused));
        return;
      }
      if (path === "/denied" || path.startsWith("/denied/")) {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end(s3ErrorXml(accessDenied()));
        return;
      }
      const xml = (body: string) => {
        res.writeHead(200, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
      };
      // Requests this stand-in does not serve are refused (501 NotImplemented), never answered 200 as if done: an unknown
      // query parameter (a sub-resource such as ?acl, ?tagging, ?versions, or a listing's start-after/marker/continuation
      // -token, since it never pages), a conditional header (If-Match, If-None-Match, ...), a Range it cannot parse, and a
      // listing longer than max-keys. Served besides the list above, for Pulumi's DIY state backend (gocloud.dev s3blob,
      // AWS SDK v2): CopyObject (PUT with x-amz-copy-source: the backups of the stack's checkpoint), GET with one byte
      // Range. The SDK's x-id=<Operation> query parameter is only a label. Metadata (x-amz-meta-*) is not kept.
      const notImplemented = (what: string) => {
        res.writeHead(501, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>The S3 stand-in does not serve ${what}</Message></Error>`);
      };
      const served = new Set(["list-type", "prefix", "delimiter", "max-keys", "encoding-type", "fetch-owner", "location", "delete", "uploads", "uploadId", "partNumber", "x-id"]);
      const unknownParam = [...params.entries()].find(([k, v]) => !served.has(k) && !(["start-after", "marker", "continuation-token"].includes(k) && v === ""));
      if (unknownParam) return notImplemented(`the query parameter ${unknownParam[0]}`);
      const conditional = Object.keys(req.headers).find((h) => /^(if-|x-amz-copy-source-if-)/.test(h));
      if (conditional) return notImplemented(`the conditional header ${conditional}`);
      const maxKeys = params.get("max-keys");
      if (maxKeys !== null && req.method === "GET" && params.get("list-type") === "2") {
        // the entries the answer would hold: keys, and the "directories" the delimiter folds them into
        const [listBucket, listPrefix, listDelimiter] = [path.split("/")[1] ?? "", params.get("prefix") ?? "", params.get("delimiter") ?? ""];
        const keys = [...objects.keys()].filter((k) => k.startsWith(`/${listBucket}/${listPrefix}`)).map((k) => k.slice(listBucket.length + 2));
        const n = new Set(keys.map((k) => (listDelimiter && k.indexOf(listDelimiter, listPrefix.length) >= 0 ? k.slice(0, k.indexOf(listDelimiter, listPrefix.length) + listDelimiter.length) : k))).size;
        if (!/^\d+$/.test(maxKeys) || n > Number(maxKeys)) return notImplemented(`a listing of ${n} keys with max-keys=${maxKeys} (it never pages)`);
      }
      const copySource = req.headers["x-amz-copy-source"];
      if (copySource !== undefined) {
        if (req.method !== "PUT" || params.has("uploadId") || typeof copySource !== "string" || copySource.includes("?")) return notImplemented("this copy (UploadPartCopy, a versionId)");
        const source = `/${decodeURIComponent(copySource.replace(/^\//, ""))}`;
        const body = objects.get(source);
        if (!body) {
          res.writeHead(404, { "content-type": "application/xml" });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>');
          return;
        }
        objects.set(path, Buffer.from(body));
        xml(`<CopyObjectResult><LastModified>2026-11-23T02:00:00.000Z</LastModified><ETag>"${createHash("md5").update(body).digest("hex")}"</ETag></CopyObjectResult>`);
        return;
      }
      const range = req.headers.range;
      if (range !== undefined) {
        const body = req.method === "GET" ? objects.get(path) : undefined;
        const m = /^bytes=(\d*)-(\d*)$/.exec(range);
        if (!body || !m || (m[1] === "" && m[2] === "")) return notImplemented(`the Range ${JSON.stringify(range)} here`);
        const [start, end] = m[1] === "" ? [Math.max(0, body.length - Number(m[2])), body.length - 1] : [Number(m[1]), Math.min(body.length - 1, m[2] === "" ? body.length - 1 : Number(m[2]))];
        if (start >= body.length || start > end) {
          res.writeHead(416, { "content-type": "application/xml" });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRange</Code></Error>');
          return;
        }
        res.writeHead(206, { etag: `"${createHash("md5").update(body).digest("hex")}"`, "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${body.length}`, "last-modified": "Mon, 23 Nov 2026 02:00:00 GMT" });
        res.end(body.subarray(start, end + 1));
        return;
      }
      if (req.method === "GET" && params.has("location")) {
        xml('<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">us-east-1</LocationConstraint>');
        return;
      }
      const [, bucket = "", ...rest] = path.split("/");
      if (req.method === "GET" && bucket !== "" && rest.join("/") === "" && params.get("list-type") === "2") {
        const prefix = params.get("prefix") ?? "";
        const delimiter = params.get("delimiter") ?? "";
        const keys = [...objects.keys()].filter((k) => k.startsWith(`/${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 2)).sort();
        const prefixes = new Set<string>();
        const contents: string[] = [];
        for (const key of keys) {
          const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
          if (cut >= 0) {
            prefixes.add(key.slice(0, cut + delimiter.length));
            continue;
          }
          const body = objects.get(`/${bucket}/${key}`)!;
          contents.push(`<Contents><Key>${key}</Key><LastModified>2026-11-23T02:00:00.000Z</LastModified><ETag>"${createHash("md5").update(body).digest("hex")}"</ETag><Size>${body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
        }
        const common = [...prefixes].map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join("");
        xml(`<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${contents.length + prefixes.size}</KeyCount><IsTruncated>false</IsTruncated>${contents.join("")}${common}</ListBucketResult>`);
        return;
      }
      if (req.method === "POST" && bucket !== "" && rest.join("/") === "" && params.has("delete")) {
        const deleted = [...Buffer.concat(chunks).toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
        for (const key of deleted) objects.delete(`/${bucket}/${key}`);
        xml(`<DeleteResult>${deleted.map((k) => `<Deleted><Key>${k}</Key></Deleted>`).join("")}</DeleteResult>`);
        return;
      }
      if (req.method === "DELETE" && params.get("uploadId") === null) {
        objects.delete(path);
        res.writeHead(204);
        res.end();
        return;
      }
      if (req.method === "GET" && bucket !== "" && rest.join("/") === "" && params.get("uploadId") === null) {
        const prefix = params.get("prefix") ?? "";
        const contents = [...objects.keys()]
          .filter((k) => k.startsWith(`/${bucket}/${prefix}`))
          .map((k) => {
            const body = objects.get(k)!;
            return `<Contents><Key>${k.slice(bucket.length + 2)}</Key><LastModified>2026-11-23T02:00:00.000Z</LastModified><ETag>"${createHash("md5").update(body).digest("hex")}"</ETag><Size>${body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
          })
          .join("");
        xml(`<ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
        return;
      }
      if (req.method === "POST" && params.has("uploads")) {
        const id = `upload${uploads.size + 1}`;
        uploads.set(id, new Map());
        const [, bucket, ...key] = path.split("/");
        xml(`<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key.join("/")}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
        return;
      }
      const uploadId = params.get("uploadId");
      if (uploadId !== null) {
        const parts = uploads.get(uploadId);
        if (!parts) {
          res.writeHead(404);
          res.end();
          return;
        }
        if (req.method === "PUT") {
          const body = Buffer.concat(chunks);
          parts.set(Number(params.get("partNumber")), body);
          res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` });
          res.end();
          return;
        }
        if (req.method === "POST") {
          const whole = Buffer.concat([...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
          objects.set(path, whole);
          uploads.delete(uploadId);
          xml(`<CompleteMultipartUploadResult><Location>${path}</Location><ETag>"${createHash("md5").update(whole).digest("hex")}-${parts.size}"</ETag></CompleteMultipartUploadResult>`);
          return;
        }
        if (req.method === "DELETE") {
          uploads.delete(uploadId);
          res.writeHead(204);
          res.end();
          return;
        }
      }
      if (req.method === "PUT") {
        const body = Buffer.concat(chunks);
        objects.set(path, body);
        res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` });
        res.end();
        return;
      }
      if (req.method === "HEAD" || req.method === "GET") {
        const body = objects.get(path);
        if (!body) {
          res.writeHead(404, { "content-type": "application/xml" });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>');
          return;
        }
        res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"`, "content-length": body.length, "last-modified": "Mon, 23 Nov 2026 02:00:00 GMT" });
        res.end(req.method === "GET" ? body : undefined);
        return;
      }
      res.writeHead(501);
      res.end();
    });
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, handler) : createServer(handler);
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      if (addr === null || typeof addr === "string") {
        reject(new Error("no address"));
        return;
      }
      resolve({
        endpoint: `127.0.0.1:${addr.port}`,
        objects,
        requests,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
