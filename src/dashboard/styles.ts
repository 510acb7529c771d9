/** The page's stylesheet, served at `{base}/assets/app.css` (no build step, nothing from a CDN). */
export const STYLES = `
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #1d1f23; --muted: #6b7280; --card: #fff; --line: #e3e4e8;
  --accent: #2563eb; --ok: #15803d; --bad: #b91c1c; --warn: #b45309; font: 14px/1.45 system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --bg: #15171b; --fg: #e6e7ea; --muted: #9aa0aa; --card: #1e2127; --line: #30343c; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 17px; margin: 0; flex: 1; }
main, #signin { padding: 12px 20px; max-width: 1200px; margin: 0 auto; }
h2 { font-size: 15px; margin: 18px 0 8px; }
[hidden] { display: none !important; }
button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
button.danger { border-color: var(--bad); color: var(--bad); }
button.danger-soft { border-color: var(--warn); color: var(--warn); }
input, select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; }
.card h3 { margin: 0 0 6px; font-size: 15px; display: flex; gap: 8px; align-items: center; }
.card h3 .name { flex: 1; }
.counts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4px 10px; margin: 6px 0; }
.counts div { display: flex; flex-direction: column; }
.counts b { font-size: 16px; }
.counts span { color: var(--muted); font-size: 11px; }
.charts { display: flex; gap: 10px; }
.chart { flex: 1; margin: 0; min-width: 0; }
.chart figcaption { color: var(--muted); font-size: 11px; }
.chart svg { width: 100%; height: 40px; display: block; }
.badge { font-size: 11px; padding: 1px 7px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); }
.badge-paused { border-color: var(--warn); color: var(--warn); }
.live.on { color: var(--ok); } .live.off { color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.filters .bulk { margin-left: auto; display: flex; gap: 6px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td code, #jv-id { font-size: 12px; }
td.actions { text-align: right; }
td.actions button { margin-left: 4px; }
.status { font-size: 12px; padding: 1px 7px; border-radius: 999px; background: var(--line); }
.status.completed { background: #dcfce7; color: #14532d; } .status.dead_letter, .status.failed { background: #fee2e2; color: #7f1d1d; }
.status.running { background: #dbeafe; color: #1e3a8a; } .status.retrying, .status.scheduled { background: #fef3c7; color: #78350f; }
.pager { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
#job-view { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 4px 14px 14px; margin-top: 14px; }
#job-view dl { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; }
#job-view dt { color: var(--muted); }
#job-view pre { background: var(--bg); padding: 8px; border-radius: 6px; overflow: auto; max-height: 240px; margin: 4px 0 10px; }
.error { color: var(--bad); } .hint { color: var(--muted); font-size: 12px; }
.notice:empty { display: none; } .notice { padding: 6px 10px; border-radius: 6px; background: var(--card); border: 1px solid var(--line); }
dialog { border: 1px solid var(--line); border-radius: 10px; background: var(--card); color: var(--fg); }
dialog menu { display: flex; gap: 8px; justify-content: flex-end; padding: 0; }
`;
