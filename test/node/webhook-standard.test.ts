/**
 * Our Standard Webhooks signer and verifier against the reference library (`standardwebhooks`
 * 1.1.1): its published test vectors, and both directions over many random messages.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, test } from "vitest";
import { createWebhookVerifier, signWebhook } from "../../src/triggers/webhook/index.ts";

// The vectors of the reference library's own tests (libraries/javascript/src/webhook.test.ts).
const SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const PAYLOAD = '{"test": 2432232314}';
const SIGNED_AT = 1614265330;
const EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const encoder = new TextEncoder();
const headersOf = (h: Record<string, string>) => new Headers(h);

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe("the reference library's test vectors", () => {
  test("its sign vector: our signWebhook gives the same header, with or without the whsec_ prefix", async () => {
    expect(new Webhook(`whsec_${SECRET}`).sign(MSG_ID, new Date(SIGNED_AT * 1000), PAYLOAD)).toBe(EXPECTED);
    for (const secret of [`whsec_${SECRET}`, SECRET]) {
      const ours = await signWebhook({ secret, id: MSG_ID, timestamp: SIGNED_AT, body: PAYLOAD });
      expect(ours).toEqual({ "webhook-id": MSG_ID, "webhook-timestamp": String(SIGNED_AT), "webhook-signature": EXPECTED });
    }
  });

  test("its verify cases decide the same with our verifier", async () => {
    const now = Date.now();
    const ts = Math.floor(now / 1000);
    const ref = new Webhook(SECRET);
    const ours = createWebhookVerifier({ secrets: [`whsec_${SECRET}`], clock: () => now });
    const valid = ref.sign(MSG_ID, new Date(ts * 1000), PAYLOAD);
    const base = { "webhook-id": MSG_ID, "webhook-timestamp": String(ts), "webhook-signature": valid };
    const without = (k: string) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== k));
    const cases: { name: string; headers: Record<string, string>; ok: boolean }[] = [
      { name: "valid", headers: base, ok: true },
      { name: "missing id", headers: without("webhook-id"), ok: false },
      { name: "missing timestamp", headers: without("webhook-timestamp"), ok: false },
      { name: "missing signature", headers: without("webhook-signature"), ok: false },
      { name: "invalid timestamp", headers: { ...base, "webhook-timestamp": "hello" }, ok: false },
      { name: "invalid signature", headers: { ...base, "webhook-signature": "v1,dawfeoifkpqwoekfpqoekf" }, ok: false },
      { name: "partial signature", headers: { ...base, "webhook-signature": valid.slice(0, 8) }, ok: false },
      { name: "empty v1", headers: { ...base, "webhook-signature": "v1," }, ok: false },
      { name: "old timestamp", headers: { ...base, "webhook-timestamp": String(ts - 301) }, ok: false },
      { name: "new timestamp", headers: { ...base, "webhook-timestamp": String(ts + 301) }, ok: false },
      {
        name: "several signatures, one valid",
        headers: {
          ...base,
          "webhook-signature": [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            valid,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
          ].join(" "),
        },
        ok: true,
      },
    ];
    for (const c of cases) {
      let refOk = true;
      try {
        ref.verify(PAYLOAD, c.headers);
      } catch {
        refOk = false;
      }
      const ourResult = await ours.verify(headersOf(c.headers), encoder.encode(PAYLOAD));
      expect({ case: c.name, reference: refOk, ours: ourResult.ok }).toEqual({ case: c.name, reference: c.ok, ours: c.ok });
    }
  });
});

describe("both directions agree on random messages", () => {
  test("ours verified by the reference, the reference's verified by ours, tampering refused by both", async () => {
    const next = rng(0xc0ffee);
    const now = Date.now();
    let checked = 0;
    for (let i = 0; i < 200; i++) {
      const keyBytes = Uint8Array.from({ length: 16 + Math.floor(next() * 48) }, () => Math.floor(next() * 256));
      const secret = `whsec_${btoa(String.fromCharCode(...keyBytes))}`;
      const body = JSON.stringify({ job_type: "x", payload: { i, s: "é🙂".repeat(Math.floor(next() * 5)), n: next() } });
      const id = `msg_${i}_${Math.floor(next() * 1e9)}`;
      const ts = Math.floor(now / 1000) - Math.floor(next() * 200);
      const ref = new Webhook(secret);
      const ours = createWebhookVerifier({ secrets: [secret], clock: () => now });

      const mine = await signWebhook({ secret, id, timestamp: ts, body });
      expect(() => ref.verify(body, mine)).not.toThrow();
      const theirs = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": ref.sign(id, new Date(ts * 1000), body) };
      expect(theirs["webhook-signature"]).toBe(mine["webhook-signature"]);
      expect(await ours.verify(headersOf(theirs), encoder.encode(body))).toEqual({ ok: true, secretIndex: 0 });

      // One changed character of the body, or of the signature text, fails on both sides.
      const tampered = body.replace(`"i":${i}`, `"i":${i + 1}`);
      expect(() => ref.verify(tampered, theirs)).toThrow();
      expect((await ours.verify(headersOf(theirs), encoder.encode(tampered))).ok).toBe(false);
      const sig = theirs["webhook-signature"];
      const flipped = { ...theirs, "webhook-signature": `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}` };
      expect(() => ref.verify(body, flipped)).toThrow();
      expect((await ours.verify(headersOf(flipped), encoder.encode(body))).ok).toBe(false);
      checked++;
    }
    expect(checked).toBe(200);
  });
});
