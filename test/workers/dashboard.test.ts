/** The example Worker's dashboard (createWorker({ dashboard })) through SELF.fetch. */
import { SELF } from "cloudflare:test";
import { describe, expect, test } from "vitest";
import { eventually } from "./helpers.ts";

const TOKEN = "local-dev-token";
const auth = { authorization: `Bearer ${TOKEN}` };

describe("dashboard on the Worker", () => {
  test("the page is served at /admin, the API needs the token, and a webhook job shows up in the stats", async () => {
    const page = await SELF.fetch("https://example.com/admin");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/admin/assets/app.js");
    const anonymous = await SELF.fetch("https://example.com/admin/api/stats");
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const res = await SELF.fetch("https://example.com/webhooks/jobs", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ job_type: "echo", payload: { from: "dashboard test" } }),
    });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const job = await eventually("the job to be readable through the dashboard", async () => {
      const r = await SELF.fetch(`https://example.com/admin/api/jobs/${job_id}`, { headers: auth });
      const body = (await r.json()) as { job?: { status: string } };
      return body.job?.status === "completed" ? body.job : null;
    });
    expect(job.status).toBe("completed");
    const stats = (await (await SELF.fetch("https://example.com/admin/api/stats", { headers: auth })).json()) as { total: number; paused: string[] };
    expect(stats.total).toBeGreaterThan(0);
    expect(stats.paused).toEqual([]);
    // The webhook still answers beside the dashboard.
    expect((await SELF.fetch("https://example.com/webhooks/health")).status).toBe(200);
  });
});
