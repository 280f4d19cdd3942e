// Alertmanager renderer: typed receivers, route tree and inhibition rules in, alertmanager.yml out.
// Slack webhooks are secrets, so a Slack receiver names a FILE holding the webhook URL (`api_url_file`, Alertmanager
// >= 0.22); the URL itself can never be passed in, and the rendered config is safe to show in a plan.
// Checked by `amtool check-config` and `amtool config routes test` in the tests.
import {
  checkAbsolutePath,
  checkDuration,
  checkLabelName,
  checkNonEmpty,
  checkUnique,
  compact,
  toYaml,
} from "./common";
import { refuseField } from "../renderInputError";

const RENDERER = "alertmanager";

export interface Matcher {
  label: string;
  op?: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface SlackReceiver {
  kind: "slack";
  name: string;
  /** A Slack channel, e.g. "#alerts". */
  channel: string;
  /** Absolute path (inside the Alertmanager container) of a file holding the webhook URL. */
  webhookFile: string;
  sendResolved?: boolean;
  title?: string;
  text?: string;
  /** Slack attachment colour, e.g. "danger"; may be a Go template. */
  color?: string;
  username?: string;
  iconEmoji?: string;
}

/**
 * E-mail through an SMTP relay. The relay's password is a secret, so the receiver names a FILE holding it
 * (`auth_password_file`, Alertmanager >= 0.25); the password itself can never be passed in.
 */
export interface EmailReceiver {
  kind: "email";
  name: string;
  to: string;
  from: string;
  /** host:port of the SMTP relay, e.g. smtp.example.org:587. */
  smarthost: string;
  authUsername?: string;
  /** Absolute path (inside the Alertmanager container) of a file holding the relay password. */
  authPasswordFile?: string;
  sendResolved?: boolean;
  /** Subject line (a Go template). */
  subject?: string;
}

/** A receiver that drops notifications (for routes that only exist to be inhibited or silenced). */
export interface NullReceiver {
  kind: "null";
  name: string;
}

export type Receiver = SlackReceiver | EmailReceiver | NullReceiver;

const EMAIL = /^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

export interface Route {
  receiver?: string;
  matchers?: Matcher[];
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  continue?: boolean;
  routes?: Route[];
}

export interface InhibitRule {
  sourceMatchers: Matcher[];
  targetMatchers: Matcher[];
  /** Labels that must be equal on source and target for the target to be suppressed. */
  equal: string[];
}

export interface AlertmanagerInput {
  resolveTimeout?: string;
  /** The root route: needs a receiver; its timing is inherited by child routes. */
  route: Route & { receiver: string };
  receivers: Receiver[];
  inhibitRules?: InhibitRule[];
  templates?: string[];
}

/** `label="value"` in Alertmanager's matcher syntax (the value quoted and escaped as a Go string). */
export function renderMatcher(m: Matcher): string {
  checkLabelName(RENDERER, `matcher ${m.label}`, m.label);
  return `${m.label}${m.op ?? "="}${JSON.stringify(m.value)}`;
}

function renderReceiver(r: Receiver, i: number): Record<string, unknown> {
  const where = `alertmanager.receivers[${i}] (${r.name})`;
  checkNonEmpty(RENDERER, `${where}.name`, r.name);
  if (r.kind === "null") return { name: r.name };
  if (r.kind === "email") {
    for (const k of ["to", "from"] as const) {
      if (!EMAIL.test(r[k])) refuseField(RENDERER, `${where}.${k}`, `expected an e-mail address such as oncall@example.org, got ${JSON.stringify(r[k])}`);
    }
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$/.test(r.smarthost)) refuseField(RENDERER, `${where}.smarthost`, `expected host:port of an SMTP relay such as smtp.example.org:587, got ${JSON.stringify(r.smarthost)}`);
    if (r.authPasswordFile !== undefined) checkAbsolutePath(RENDERER, `${where}.authPasswordFile`, r.authPasswordFile);
    if ((r.authUsername === undefined) !== (r.authPasswordFile === undefined)) {
      refuseField(RENDERER, `${where}.authUsername`, "an SMTP login needs both authUsername and authPasswordFile (or neither)");
    }
    return {
      name: r.name,
      email_configs: [
        compact({
          to: r.to,
          from: r.from,
          smarthost: r.smarthost,
          auth_username: r.authUsername,
          auth_password_file: r.authPasswordFile,
          require_tls: true,
          send_resolved: r.sendResolved ?? true,
          headers: r.subject ? { Subject: r.subject } : undefined,
        }),
      ],
    };
  }
  if (!/^[#@][\w.-]+$/.test(r.channel)) {
    refuseField(RENDERER, `${where}.channel`, `expected a Slack channel such as "#alerts", got ${JSON.stringify(r.channel)}`);
  }
  checkAbsolutePath(RENDERER, `${where}.webhookFile`, r.webhookFile);
  return {
    name: r.name,
    slack_configs: [
      compact({
        api_url_file: r.webhookFile,
        channel: r.channel,
        send_resolved: r.sendResolved ?? true,
        username: r.username,
        icon_emoji: r.iconEmoji,
        color: r.color,
        title: r.title,
        text: r.text,
      }),
    ],
  };
}

function renderRoute(route: Route, where: string, receivers: ReadonlySet<string>, root: boolean): Record<string, unknown> {
  if (root && !route.receiver) refuseField(RENDERER, `${where}.receiver`, "the root route needs a receiver");
  if (route.receiver !== undefined && !receivers.has(route.receiver)) {
    refuseField(RENDERER, `${where}.receiver`, `receiver ${JSON.stringify(route.receiver)} is not declared; declared: ${[...receivers].join(", ")}`);
  }
  if (root && route.matchers?.length) refuseField(RENDERER, `${where}.matchers`, "the root route matches every alert and takes no matchers");
  (route.groupBy ?? []).forEach((l, k) => {
    if (l !== "...") checkLabelName(RENDERER, `${where}.groupBy[${k}]`, l);
  });
  return compact({
    receiver: route.receiver,
    matchers: route.matchers?.length ? route.matchers.map(renderMatcher) : undefined,
    group_by: route.groupBy,
    group_wait: route.groupWait === undefined ? undefined : checkDuration(RENDERER, `${where}.groupWait`, route.groupWait),
    group_interval: route.groupInterval === undefined ? undefined : checkDuration(RENDERER, `${where}.groupInterval`, route.groupInterval),
    repeat_interval: route.repeatInterval === undefined ? undefined : checkDuration(RENDERER, `${where}.repeatInterval`, route.repeatInterval),
    continue: route.continue,
    routes: route.routes?.length
      ? route.routes.map((r, k) => renderRoute(r, `${where}.routes[${k}]`, receivers, false))
      : undefined,
  });
}

export function renderAlertmanagerConfig(input: AlertmanagerInput, header?: string): string {
  checkUnique(RENDERER, "alertmanager.receivers[].name", input.receivers.map((r) => r.name));
  const receiverNames = new Set(input.receivers.map((r) => r.name));
  const route = renderRoute(input.route, "alertmanager.route", receiverNames, true);
  const inhibit = (input.inhibitRules ?? []).map((rule, i) => {
    const where = `alertmanager.inhibitRules[${i}]`;
    if (!rule.sourceMatchers.length || !rule.targetMatchers.length) {
      refuseField(RENDERER, where, "an inhibition rule needs source and target matchers");
    }
    rule.equal.forEach((l, k) => checkLabelName(RENDERER, `${where}.equal[${k}]`, l));
    return {
      source_matchers: rule.sourceMatchers.map(renderMatcher),
      target_matchers: rule.targetMatchers.map(renderMatcher),
      equal: rule.equal,
    };
  });
  const doc = compact({
    global: { resolve_timeout: checkDuration(RENDERER, "alertmanager.resolveTimeout", input.resolveTimeout ?? "5m") },
    templates: input.templates?.length ? input.templates : undefined,
    route,
    receivers: input.receivers.map(renderReceiver),
    inhibit_rules: inhibit.length ? inhibit : undefined,
  });
  return toYaml(doc, header);
}
