// The console's only way to the server: typed REST calls under /api/v1 with the administrator's
// device token, and the WebSocket board. Every error is the server's own words.
import type {
  AdminTeams,
  AdminUser,
  AdminUsers,
  ApiKeys,
  AuditPage,
  Avatar,
  CustomStatuses,
  CustomStatusRequest,
  Devices,
  ErrorBody,
  InviteCreated,
  Invites,
  KeyCreated,
  Member,
  OrgRules,
  PasswordReset,
  PolicyRequest,
  ServerMessage,
  SetSso,
  SignedIn,
  SsoDiscovery,
  SsoSettings,
  Webhook,
  WebhookCreated,
  WebhookDeliveries,
  WebhookEvent,
  WebhookUpdate,
} from "../src/lib/generated";

const TOKEN = "presently.admin.token";

export class ServerError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function token(): string | null {
  try {
    return sessionStorage.getItem(TOKEN);
  } catch {
    return null;
  }
}

function keep(t: string | null) {
  try {
    if (t) sessionStorage.setItem(TOKEN, t);
    else sessionStorage.removeItem(TOKEN);
  } catch {
    // Without storage the console works until the page is closed.
  }
}

async function call<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const t = token();
  if (auth && t) headers.authorization = `Bearer ${t}`;
  let r: Response;
  try {
    r = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ServerError("The server does not answer: check that it runs and try again.", 0);
  }
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  if (!r.ok) {
    let message = `The server refused the request (HTTP ${r.status}).`;
    try {
      message = (JSON.parse(text) as ErrorBody).error.message;
    } catch {
      // Not one of ours: keep the status.
    }
    throw new ServerError(message, r.status);
  }
  return JSON.parse(text) as T;
}

const enc = encodeURIComponent;

/** Sends a file's bytes as the body (a photo), with the same errors as `call`. */
async function upload<T>(path: string, bytes: Uint8Array): Promise<T> {
  const t = token();
  let r: Response;
  try {
    r = await fetch(`/api/v1${path}`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", ...(t ? { authorization: `Bearer ${t}` } : {}) },
      body: bytes as BodyInit,
    });
  } catch {
    throw new ServerError("The server does not answer: check that it runs and try again.", 0);
  }
  const text = await r.text();
  if (!r.ok) {
    let message = `The server refused the photo (HTTP ${r.status}).`;
    try {
      message = (JSON.parse(text) as ErrorBody).error.message;
    } catch {
      // Not one of ours: keep the status.
    }
    throw new ServerError(message, r.status);
  }
  return JSON.parse(text) as T;
}

/** A person's photo as an object URL for <img>, fetched with the administrator's token; null when they have none. */
export async function faceUrl(user: string, _version: string, size: number): Promise<string | null> {
  const t = token();
  const r = await fetch(`/api/v1/people/${enc(user)}/avatar?size=${size}`, {
    headers: t ? { authorization: `Bearer ${t}` } : {},
  });
  if (!r.ok) return null;
  return URL.createObjectURL(await r.blob());
}

const DEVICE = "presently.admin.device";

/** This browser tab's device id: a token is bound to the device that signed in. */
function device(): string {
  let d: string | null = null;
  try {
    d = sessionStorage.getItem(DEVICE);
  } catch {
    // No storage: a fresh id each time.
  }
  if (!d) {
    d = `admin-console-${Math.random().toString(36).slice(2, 10)}`;
    try {
      sessionStorage.setItem(DEVICE, d);
    } catch {
      // As above.
    }
  }
  return d;
}

const SSO = "presently.admin.sso";

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Starts a single sign-on: the browser goes to the organisation's provider through the server
 * and comes back to this page with a one-time code that only this tab's PKCE verifier redeems. */
export async function startSso(found: SsoDiscovery): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  sessionStorage.setItem(SSO, JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({ org: found.org, return_to: "/admin/", challenge, state });
  location.assign(`/api/v1/sso/start?${q}`);
}

/** The end of a single sign-on, when this page is the browser's return: signed in, or the
 * provider's or the server's words. Null when the page was not opened by one. */
export async function finishSso(): Promise<SignedIn | null> {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return null;
  history.replaceState(null, "", location.pathname + location.hash);
  const kept = JSON.parse(sessionStorage.getItem(SSO) ?? "null") as { verifier: string; state: string } | null;
  sessionStorage.removeItem(SSO);
  if (!kept || q.get("state") !== kept.state) throw new ServerError("This sign-in was not started in this tab: sign in again.", 400);
  if (q.has("error")) throw new ServerError(q.get("error_description") ?? q.get("error") ?? "The sign-in failed.", 401);
  const s = await call<SignedIn>("POST", "/sessions/sso", { code: q.get("code"), verifier: kept.verifier, device: device() }, false);
  return adminOnly(s);
}

async function adminOnly(s: SignedIn): Promise<SignedIn> {
  if (s.role !== "admin") {
    keep(s.token);
    await call("DELETE", "/sessions/current").catch(() => undefined);
    keep(null);
    throw new ServerError("This account is not an administrator of its organisation.", 403);
  }
  keep(s.token);
  return s;
}

export const admin = {
  async signIn(email: string, password: string): Promise<SignedIn> {
    return adminOnly(await call<SignedIn>("POST", "/sessions", { email, password, device: device() }, false));
  },
  discoverSso: (email: string) => call<SsoDiscovery>("GET", `/sso/discover?email=${enc(email)}`, undefined, false),
  sso: () => call<SsoSettings>("GET", "/admin/sso"),
  setSso: (b: SetSso) => call<SsoSettings>("PUT", "/admin/sso", b),
  removeSso: () => call<void>("DELETE", "/admin/sso"),
  async redeem(code: string, password: string, name: string | null): Promise<SignedIn> {
    return call<SignedIn>("POST", "/sessions/code", { code, password, name, device: device() }, false);
  },
  async signOut() {
    await call("DELETE", "/sessions/current").catch(() => undefined);
    keep(null);
  },
  me: () => call<{ name: string; email: string; role: string; org: { id: string; name: string } }>("GET", "/me"),
  users: () => call<AdminUsers>("GET", "/admin/users"),
  createUser: (b: { email: string; name: string; password: string; role: string; teams: string[] }) =>
    call<AdminUser>("POST", "/admin/users", b),
  updateUser: (id: string, b: { name?: string; role?: string; active?: boolean }) =>
    call<AdminUser>("PATCH", `/admin/users/${enc(id)}`, b),
  deleteUser: (id: string) => call<void>("DELETE", `/admin/users/${enc(id)}`),
  setPhoto: (id: string, bytes: Uint8Array) => upload<Avatar>(`/admin/users/${enc(id)}/avatar`, bytes),
  removePhoto: (id: string) => call<void>("DELETE", `/admin/users/${enc(id)}/avatar`),
  resetPassword: (id: string) => call<PasswordReset>("POST", `/admin/users/${enc(id)}/password-reset`, {}),
  devices: () => call<Devices>("GET", "/admin/devices"),
  revokeDevice: (user: string, dev: string) =>
    call<void>("DELETE", `/admin/users/${enc(user)}/devices/${enc(dev)}`),
  invites: () => call<Invites>("GET", "/admin/invites"),
  invite: (b: { email: string; name: string | null; role: string; teams: string[]; expires_in_hours: number | null }) =>
    call<InviteCreated>("POST", "/admin/invites", b),
  revokeInvite: (id: string) => call<void>("DELETE", `/admin/invites/${enc(id)}`),
  resendInvite: (id: string) => call<InviteCreated>("POST", `/admin/invites/${enc(id)}/send`),
  teams: () => call<AdminTeams>("GET", "/admin/teams"),
  createTeam: (name: string) => call("POST", "/admin/teams", { name }),
  renameTeam: (id: string, name: string) => call("PATCH", `/admin/teams/${enc(id)}`, { name }),
  deleteTeam: (id: string) => call<void>("DELETE", `/admin/teams/${enc(id)}`),
  addMember: (team: string, user: string) => call("PUT", `/admin/teams/${enc(team)}/members/${enc(user)}`),
  removeMember: (team: string, user: string) => call("DELETE", `/admin/teams/${enc(team)}/members/${enc(user)}`),
  keys: () => call<ApiKeys>("GET", "/admin/keys"),
  createKey: (name: string) => call<KeyCreated>("POST", "/admin/keys", { name }),
  revokeKey: (id: string) => call<void>("DELETE", `/admin/keys/${enc(id)}`),
  webhooks: () => call<Webhook[]>("GET", "/admin/webhooks"),
  createWebhook: (url: string, events: WebhookEvent[], description: string) =>
    call<WebhookCreated>("POST", "/admin/webhooks", { url, events, description }),
  updateWebhook: (id: string, change: WebhookUpdate) => call<Webhook>("PATCH", `/admin/webhooks/${enc(id)}`, change),
  deleteWebhook: (id: string) => call<void>("DELETE", `/admin/webhooks/${enc(id)}`),
  webhookDeliveries: (id: string) => call<WebhookDeliveries>("GET", `/admin/webhooks/${enc(id)}/deliveries?limit=50`),
  pingWebhook: (id: string) => call<string>("POST", `/admin/webhooks/${enc(id)}/test`),
  statuses: () => call<CustomStatuses>("GET", "/admin/statuses"),
  createStatus: (b: CustomStatusRequest) => call("POST", "/admin/statuses", b),
  updateStatus: (id: string, b: CustomStatusRequest) => call("PUT", `/admin/statuses/${enc(id)}`, b),
  deleteStatus: (id: string) => call<void>("DELETE", `/admin/statuses/${enc(id)}`),
  rules: () => call<OrgRules>("GET", "/admin/policy"),
  setPolicy: (b: PolicyRequest) => call("PUT", "/admin/policy", b),
  audit: (before: { at: number; id: string } | null) =>
    call<AuditPage>(
      "GET",
      `/admin/audit?limit=50${before === null ? "" : `&before=${before.at}&before_id=${enc(before.id)}`}`,
    ),
};

/** The organisation's live board: everyone, then every change, over the WebSocket. */
export function watchBoard(
  onMembers: (m: Member[]) => void,
  onDelta: (user: string, view: Member["view"]) => void,
  onState: (connected: boolean) => void,
): () => void {
  let ws: WebSocket | null = null;
  let stopped = false;
  let retry = 1000;
  const open = () => {
    const t = token();
    if (!t || stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    let welcomed = false;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data) as ServerMessage;
      if (m.type === "welcome") {
        welcomed = true;
        retry = 1000;
        ws?.send(JSON.stringify({ type: "watch_board" }));
        onState(true);
      } else if (m.type === "board_snapshot") onMembers(m.members);
      else if (m.type === "presence_delta") onDelta(m.user, m.view);
    };
    ws.onopen = () => {
      // The board is a connection of the console's own device (the token is bound to it); it
      // never reports, so it changes nothing of the administrator's presence.
      ws?.send(JSON.stringify({ type: "hello", protocol: 2, token: t, device: device(), resume_after: null }));
    };
    ws.onclose = () => {
      onState(false);
      if (stopped) return;
      if (!welcomed) retry = Math.min(retry * 2, 30000);
      setTimeout(open, retry);
    };
  };
  open();
  const beat = setInterval(() => ws?.readyState === 1 && ws.send(JSON.stringify({ type: "heartbeat" })), 25000);
  return () => {
    stopped = true;
    clearInterval(beat);
    ws?.close();
  };
}
