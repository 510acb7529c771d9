/**
 * The dashboard page, rendered on the server with hono/jsx. It is a static shell: data needs the
 * bearer token, which only the page's own script holds (sessionStorage), so the script fills the
 * shell from the JSON API and keeps it live over server-sent events.
 */
import { jsx } from "hono/jsx";
import { JOB_STATUSES } from "../core/index.ts";

type Child = Parameters<typeof jsx>[2];
/** hono/jsx without JSX syntax: no compiler setting to keep in step across five toolchains. */
const h = (tag: string, props: Record<string, unknown> | null, ...children: Child[]) => jsx(tag, props ?? {}, ...children);

/** What the page needs to know about its mount. */
export interface PageOptions {
  basePath: string;
  auth: boolean;
  readOnly: boolean;
}

/** The page's HTML document. */
export function renderPage(options: PageOptions): string | Promise<string> {
  const { basePath, auth, readOnly } = options;
  const statusOptions = [h("option", { value: "" }, "any status"), ...JOB_STATUSES.map((s) => h("option", { value: s }, s))];
  const doc = h(
    "html",
    { lang: "en" },
    h(
      "head",
      null,
      h("meta", { charset: "utf-8" }),
      h("meta", { name: "viewport", content: "width=device-width, initial-scale=1" }),
      h("title", null, "portico-jobs dashboard"),
      // No favicon request (a 404 in every console).
      h("link", { rel: "icon", href: "data:," }),
      h("link", { rel: "stylesheet", href: `${basePath}/assets/app.css` }),
      h("script", { type: "module", src: `${basePath}/assets/app.js` }),
    ),
    h(
      "body",
      { "data-base": basePath, "data-auth": auth ? "bearer" : "none", "data-readonly": String(readOnly) },
      h(
        "header",
        null,
        h("h1", null, "portico-jobs"),
        readOnly ? h("span", { class: "badge", id: "readonly-badge" }, "read-only") : null,
        h("span", { id: "live", class: "live off", title: "live updates" }, "offline"),
        auth ? h("button", { id: "signout", type: "button", hidden: true }, "Sign out") : null,
      ),
      auth
        ? h(
            "section",
            { id: "signin", hidden: true },
            h("h2", null, "Sign in"),
            h(
              "form",
              { id: "signin-form" },
              h("label", { for: "token" }, "Bearer token"),
              h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true }),
              h("button", { type: "submit" }, "Sign in"),
            ),
            h("p", { id: "signin-error", class: "error", role: "alert" }),
            h("p", { class: "hint" }, "The token stays in this tab (sessionStorage); no cookie is set."),
          )
        : null,
      h(
        "main",
        { id: "app", hidden: true },
        h("p", { id: "notice", class: "notice", role: "status" }),
        h("section", null, h("h2", null, "Queues"), h("div", { id: "overview", class: "cards" })),
        h(
          "section",
          null,
          h("h2", null, "Jobs"),
          h(
            "form",
            { id: "filters", class: "filters" },
            h("select", { id: "f-status", name: "status", "aria-label": "status" }, ...statusOptions),
            h("input", { id: "f-queue", name: "queue", placeholder: "queue", "aria-label": "queue" }),
            h("input", { id: "f-type", name: "type", placeholder: "job type", "aria-label": "job type" }),
            h("input", { id: "f-search", name: "search", placeholder: "id or idempotency key", "aria-label": "id or idempotency key" }),
            h("button", { type: "submit" }, "Filter"),
            readOnly
              ? null
              : h(
                  "span",
                  { class: "bulk" },
                  h("button", { type: "button", id: "bulk-retry", class: "danger-soft" }, "Retry matching"),
                  h("button", { type: "button", id: "bulk-cancel", class: "danger-soft" }, "Cancel matching"),
                  h("button", { type: "button", id: "bulk-purge", class: "danger" }, "Purge matching"),
                ),
          ),
          h(
            "table",
            { id: "jobs" },
            h(
              "thead",
              null,
              h("tr", null, ...["id", "type", "queue", "status", "attempts", "created", ""].map((t) => h("th", null, t))),
            ),
            h("tbody", { id: "job-rows" }),
          ),
          h(
            "nav",
            { class: "pager" },
            h("button", { type: "button", id: "first-page", disabled: true }, "First"),
            h("button", { type: "button", id: "prev-page", disabled: true }, "Previous"),
            h("span", { id: "page-info" }),
            h("button", { type: "button", id: "next-page", disabled: true }, "Next"),
          ),
        ),
        h("section", { id: "job-view", hidden: true }, h("h2", null, "Job ", h("code", { id: "jv-id" })), h("div", { id: "jv-body" })),
      ),
      h(
        "dialog",
        { id: "confirm" },
        h(
          "form",
          { method: "dialog" },
          h("p", { id: "confirm-text" }),
          h("menu", null, h("button", { value: "cancel" }, "Cancel"), h("button", { value: "ok", id: "confirm-ok", class: "danger" }, "Confirm")),
        ),
      ),
    ),
  );
  const html = doc.toString();
  return typeof html === "string" ? `<!doctype html>${html}` : html.then((s) => `<!doctype html>${s}`);
}
