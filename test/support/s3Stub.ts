// The one S3-compatible endpoint of the tests, on loopback, standing in for DigitalOcean Spaces: Debian ships no S3
// server (MinIO is not packaged); the client under test is always the real s3cmd. Path-style requests only:
//   - upload: PUT Object, and the multipart upload calls s3cmd makes for files over 15 MB (initiate, upload part,
//     complete, abort); single PUTs are answered with the MD5 ETag s3cmd checks;
//   - download: HEAD/GET of stored objects (ETag, Content-Length, Last-Modified), 404 NoSuchKey for a missing one;
//   - ListObjects (GET on a bucket, with prefix; delimiter is ignored: keys are listed flat), GET ?location.
//   - ListObjectsV2 (list-type=2, pgBackRest's listing) with its delimiter: CommonPrefixes for the "directories";
//   - DELETE Object and the multi-object delete (POST ?delete) pgBackRest's expire and path removal use;
//   - with `tls`, HTTPS (pgBackRest's S3 driver talks nothing else): the client must trust the certificate;
//   - with `accessKey`, a request signed with another key id (or unsigned) answers 403 InvalidAccessKeyId, as Spaces
//     does. Signatures themselves are not verified (a wrong secret with the right key id is accepted).
// Buckets named "denied" answer 403 AccessDenied to every request; any other call answers 501.
// Bodies are kept in memory in `objects`, keyed by path: "/bucket/key". Every request is logged in `requests`.
// (It merges the upload stub of the backup-script tests and the listing stub of GoodGo's off-site fetch test.)
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";

export interface S3Stub {
  endpoint: string;
  objects: Map<string, Buffer>;
  requests: { method: string; path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

export interface S3StubOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** The only access key id accepted. */
  accessKey?: string;
}

export function startS3Stub(options: S3StubOptions = {}): Promise<S3Stub> {
  const objects = new Map<string, Buffer>();
  const requests: S3Stub["requests"] = [];
  const uploads = new Map<string, Map<number, Buffer>>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const [rawPath, query = ""] = (req.url ?? "/").split("?");
    const path = decodeURIComponent(rawPath);
    const params = new URLSearchParams(query);
    requests.push({ method: req.method ?? "", path, authorization: req.headers.authorization });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (options.accessKey !== undefined && !(req.headers.authorization ?? "").includes(`Credential=${options.accessKey}/`)) {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code><Message>The access key Id you provided does not exist in our records.</Message></Error>');
        return;
      }
      if (path === "/denied" || path.startsWith("/denied/")) {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
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
