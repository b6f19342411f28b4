"""The HTML report's stylesheet, inlined into the page (no network, no external fonts).

Colours: the Okabe-Ito palette (safe for the common kinds of colour blindness); changes carry an arrow
and a sign as well as a colour. A print stylesheet prints the selected period on landscape pages."""

from __future__ import annotations

FONT = (
    '-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Liberation Sans",'
    '"Noto Sans",system-ui,sans-serif'
)

STYLE = """
:root{--ink:#1c2230;--muted:#5d6678;--faint:#8a92a3;--line:#e2e5eb;--bg:#f4f5f8;--card:#fff;
--up:#0072B2;--down:#D55E00;--paid:#0072B2;--earned:#009E73;--owned:#E69F00;--unclassified:#A3A3A3;
--now:#0072B2;--before:#56B4E9;--accent:#0072B2}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 FONT;font-variant-numeric:tabular-nums}
header.top{background:#1c2230;color:#fff;padding:20px 32px 18px}
header.top h1{margin:0;font-size:24px;font-weight:650;letter-spacing:-.01em}
header.top p{margin:4px 0 0;color:#c9cfdb;font-size:13px}
main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
h2{font-size:20px;margin:0 0 10px;font-weight:650}
h3{font-size:17px;margin:18px 0 12px;font-weight:650}
h3 .range{font-weight:400;color:var(--muted);font-size:14px;margin-left:8px}
h4{font-size:15px;margin:22px 0 8px;font-weight:650}
.conn{margin-bottom:36px}
.meta{display:flex;flex-wrap:wrap;gap:8px 28px;margin:0 0 14px;padding:12px 16px;background:var(--card);
border:1px solid var(--line);border-radius:8px}
.meta div{min-width:0}.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.meta dd{margin:2px 0 0;font-weight:600}
.tabs>input{position:absolute;opacity:0;width:1px;height:1px}
.tabs>label{display:inline-block;padding:7px 16px;margin:0 4px 0 0;border:1px solid var(--line);
border-bottom:none;border-radius:8px 8px 0 0;background:#e9ecf1;color:var(--muted);cursor:pointer;font-weight:600}
.tabs>input:checked+label{background:var(--card);color:var(--ink);box-shadow:inset 0 3px 0 var(--accent)}
.tabs>input:focus-visible+label{outline:2px solid var(--accent);outline-offset:2px}
.period{display:none;background:var(--card);border:1px solid var(--line);border-radius:0 8px 8px 8px;
padding:4px 20px 20px}
PERIOD_RULES
.tiles{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:0 0 18px}
.tile{border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .k{font-size:12px;color:var(--muted)}
.tile .v{font-size:24px;font-weight:650;margin-top:2px;white-space:nowrap}
.tile .d{font-size:12px;color:var(--muted);white-space:nowrap}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:12px 14px 8px}
figcaption{font-weight:650;margin-bottom:2px}
figcaption small{display:block;font-weight:400;color:var(--muted);font-size:12px}
svg.chart{width:100%;height:auto;display:block;margin-top:6px}
svg text{font-family:FONT;fill:var(--ink)}
svg .gl{font-size:12px;text-anchor:end;font-weight:600}
svg .lg{font-size:11.5px;fill:var(--muted)}
svg .nt{font-size:11.5px;fill:var(--muted)}
svg .in{font-size:11px;text-anchor:middle;font-weight:600}
svg .in.lt{fill:#fff}
.s-paid{fill:var(--paid)}.s-earned{fill:var(--earned)}.s-owned{fill:var(--owned)}
.s-unclassified{fill:var(--unclassified)}.s-now{fill:var(--now)}.s-before{fill:var(--before)}
svg .none{fill:none;stroke:#c5cad3;stroke-dasharray:2 2}
svg .rule{stroke:#d5d9e0;stroke-dasharray:3 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;color:var(--muted);font-size:12px;margin:0 0 8px}
svg.key{width:10px;height:10px;margin-right:5px;vertical-align:-1px}
.wrap{overflow-x:auto}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table.board{width:100%;border-collapse:collapse;font-size:13px}
.board th,.board td{padding:5px 7px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
.board thead th{font-size:11.5px;font-weight:650;color:var(--muted);vertical-align:bottom;
border-bottom:1px solid #c9ced8;background:var(--card)}
.board thead tr:first-child th[colspan]{text-align:center;border-bottom:1px solid var(--line);white-space:normal}
.board thead th.l,.board tbody th{text-align:left}
.board tbody th{font-weight:600;max-width:230px;overflow:hidden;text-overflow:ellipsis}
.board tbody th small{display:block;font-weight:400;color:var(--faint);font-size:11px}
.board tbody tr:hover{background:#f7f9fc}
.board tbody td:first-child{color:var(--faint)}
.board tbody td:nth-child(3){font-weight:700;background:linear-gradient(var(--accent),var(--accent)) no-repeat 7px calc(100% - 5px)/calc((100% - 14px) * var(--s,0)) 3px,linear-gradient(#e4e7ec,#e4e7ec) no-repeat 7px calc(100% - 5px)/calc(100% - 14px) 3px}
.board tbody td:nth-child(n+5):nth-child(-n+7){color:var(--muted)}
.board td i{display:block;font-size:11px;font-style:normal}
.board thead th.c,.board tbody td:nth-child(n+12){text-align:center}
.board td svg{display:block;margin:0 auto}
.board td:nth-child(12) svg{width:90px;height:10px}
.board td:nth-child(12) svg>*{transform:translateY(5px)}
.board td:nth-child(12) line{stroke-width:10}
.board td:nth-child(12) line:nth-of-type(1){stroke:var(--paid)}
.board td:nth-child(12) line:nth-of-type(2){stroke:var(--earned)}
.board td:nth-child(12) line:nth-of-type(3){stroke:var(--owned)}
.board td:nth-child(12) line:nth-of-type(4){stroke:var(--unclassified)}
.board td:nth-child(12) path.none{stroke:#c5cad3;stroke-width:1;fill:none;stroke-dasharray:2 2}
.board td:nth-child(n+13) svg{width:70px;height:18px;overflow:visible}
.board td:nth-child(n+13) path{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
.board td:nth-child(13) path{stroke:var(--up);marker-end:url(#dot-score)}
.board td:nth-child(14) path{stroke:var(--earned);marker-end:url(#dot-rev)}
.board tbody tr.agg th,.board tbody tr.agg td{background:#f7f8fa;font-weight:600}
.board tbody tr:not(.agg)+tr.agg th,.board tbody tr:not(.agg)+tr.agg td{border-top:2px solid #c9ced8}
.up{color:var(--up)}.dn{color:var(--down)}.eq,.na{color:var(--faint)}
.up::before{content:"▲ ";font-size:.8em}.dn::before{content:"▼ ";font-size:.8em}
.ls{color:var(--down);font-weight:700;margin-left:2px}
.tier{font-size:.75em;font-weight:600;border:1px solid currentColor;border-radius:3px;padding:0 3px;margin-left:4px}
svg.defs{position:absolute}
.dq{margin-top:18px;border:1px solid var(--line);border-radius:8px;background:var(--card);padding:4px 20px 16px}
.dq table{border-collapse:collapse;width:100%;font-size:13px}
.dq th,.dq td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.dq td.n{text-align:right;font-weight:650;width:80px}
.dq tr.zero td{color:var(--faint)}.dq tr.zero td.n{font-weight:400}
.dq p{margin:8px 0;color:var(--muted)}
.ok{color:#007a59;font-weight:600}
footer{max-width:1240px;margin:0 auto;padding:0 24px 40px;color:var(--muted);font-size:12.5px}
footer h2{font-size:14px;color:var(--ink)}footer p{margin:4px 0}
@media (max-width:900px){.tiles{grid-template-columns:repeat(2,1fr)}.charts{grid-template-columns:1fr}}
@media print{
@page{size:A4 landscape;margin:10mm}
body{background:#fff;font-size:9.5pt}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
header.top{background:#fff;color:var(--ink);padding:0 0 6px;border-bottom:2px solid var(--ink)}
header.top p{color:var(--muted)}
main{max-width:none;padding:8px 0}
.tabs>label,.tabs>input{display:none}
.period{border:none;padding:0}
.meta,.dq,figure,.tile{border-color:#bbb}
.charts,.tiles,figure,.dq,tr{break-inside:avoid}
.board thead{display:table-header-group}
.board{font-size:7.5pt}.board th,.board td{padding:3px 4px}
.board thead th{font-size:7pt}.board tbody th{max-width:150px}
.tile .v{font-size:16pt}h3{font-size:13pt}
.board tbody tr:hover{background:none}
.wrap{overflow:visible}
.conn{break-after:page}
footer{padding:0}
}
"""


def stylesheet(periods: int) -> str:
    """The stylesheet, with one rule per tab that shows the period whose tab is selected."""
    rules = "".join(
        f".tabs>input:nth-of-type({i}):checked~section:nth-of-type({i})" + "{display:block}"
        for i in range(1, max(periods, 1) + 1)
    )
    css = STYLE.replace("PERIOD_RULES", rules).replace("FONT", FONT)
    return "".join(line.strip() for line in css.strip().splitlines())
