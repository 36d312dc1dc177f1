"""The interactive report page's controls: filters, vetting buttons and their in-browser JavaScript.

Use :func:`filter_widgets` and :func:`vetting_controls` when laying out the page
(:func:`areoscan.survey.interactive.interactive_page`): they build the Bokeh widgets over the
candidates' ``ColumnDataSource`` and wire the JavaScript callbacks that run in the offline page
(filter the table and the map, show the tapped candidate's quick-look, keep verdicts and notes,
download them as the CSV ``areoscan vet`` reads, built by :data:`VERDICTS_CSV_JS`).
"""

from __future__ import annotations

from typing import Any

from areoscan.survey.vetting import VERDICTS

# Builds the verdicts CSV from the candidates' columns (observation, region, verdict, note): one
# row per candidate with a verdict, RFC 4180 quoting. Kept apart so a test can run it in a browser.
VERDICTS_CSV_JS = r"""
function verdictsCsv(d) {
  const q = (v) => { const s = String(v); return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  const lines = ["observation,region,verdict,note"];
  for (let i = 0; i < d.observation.length; i++) {
    if (d.verdict[i]) lines.push([d.observation[i], d.region[i], d.verdict[i], d.note[i] || ""].map(q).join(","));
  }
  return lines.join("\n") + "\n";
}
"""

_FILTER_JS = """
const d = src.data, out = [];
const text = obs.value.trim().toLowerCase(), want = verdict.value;
for (let i = 0; i < d.observation.length; i++) {
  if (text && !d.observation[i].toLowerCase().includes(text)) continue;
  if (d.prob[i] < minprob.value) continue;
  if (want === "unvetted" ? d.verdict[i] !== "" : (want !== "all" && d.verdict[i] !== want)) continue;
  out.push(i);
}
filt.indices = out;
src.change.emit();
"""

QUICK_SIZE = (420, 420)  # px of the quick-look panel
_SELECT_JS = """
window.areoscanSelecting = true;  // the controls below follow the selection: not a new verdict
try {
const i = src.selected.indices.length ? src.selected.indices[0] : -1;
if (i < 0) { info.text = "Tap a candidate on the map or a row of the table."; return; }
const d = src.data;
const esc = (t) => String(t).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
info.text = "<b>#" + d.rank[i] + "</b> " + esc(d.observation[i]) + " region " + d.region[i]
  + " — " + Math.round(d.area[i]) + " m², p = " + d.prob[i].toFixed(2)
  + (d.viewer[i] ? ' — <a href="' + esc(d.viewer[i]) + '" target="_blank">quick-look viewer</a>' : "");
buttons.active = labels.indexOf(d.verdict[i] || "unvetted");
note.value = d.note[i] || "";
let panel = "<p>No quick-look for this observation.</p>";
if (d.ql_url[i]) {
  const k = Math.min(QW / d.ql_w[i], QH / d.ql_h[i]), w = d.ql_w[i] * k, h = d.ql_h[i] * k;
  let rects = "";
  for (let j = 0; j < d.observation.length; j++) {
    if (d.observation[j] !== d.observation[i] || !(d.box_x1[j] > d.box_x0[j])) continue;
    rects += '<rect x="' + d.box_x0[j] + '" y="' + d.box_y0[j] + '" width="' + (d.box_x1[j] - d.box_x0[j])
      + '" height="' + (d.box_y1[j] - d.box_y0[j]) + '" fill="none" vector-effect="non-scaling-stroke"'
      + ' stroke="' + (j === i ? "yellow" : "cyan") + '" stroke-width="' + (j === i ? 3 : 1.5) + '"/>';
  }
  panel = '<div style="position:relative;width:' + w + 'px;height:' + h + 'px">'
    + '<img src="' + esc(d.ql_url[i]) + '" style="width:100%;height:100%;display:block" alt="quick-look">'
    + '<svg style="position:absolute;left:0;top:0" width="' + w + '" height="' + h + '" viewBox="0 0 '
    + d.ql_w[i] + " " + d.ql_h[i] + '">' + rects + "</svg></div>";
}
quick.text = "<b>Quick-look</b> (red: outlines from the scan; yellow: this region)" + panel;
} finally { window.areoscanSelecting = false; }
"""

_VERDICT_JS = """
if (window.areoscanSelecting) return;
const i = src.selected.indices.length ? src.selected.indices[0] : -1;
if (i < 0) return;
const v = labels[buttons.active] === "unvetted" ? "" : labels[buttons.active];
if (src.data.verdict[i] === v && src.data.note[i] === note.value) return;
src.patch({verdict: [[i, v]], note: [[i, note.value]]});
table.change.emit();  // Bokeh 3.9's DataTable misses patches that keep its view's indices
"""

_DOWNLOAD_JS = (
    VERDICTS_CSV_JS
    + """
const blob = new Blob([verdictsCsv(src.data)], {type: "text/csv"});
const a = document.createElement("a");
a.href = URL.createObjectURL(blob);
a.download = "verdicts.csv";
document.body.appendChild(a);
a.click();
a.remove();
"""
)


def filter_widgets(src: Any, filt: Any) -> tuple[Any, Any, Any]:
    """(observation text, minimum probability, verdict) widgets that refilter ``filt`` in the page."""
    from bokeh.models import CustomJS, Select, Slider, TextInput

    obs = TextInput(title="observation contains", width=200)
    minprob = Slider(title="min mean probability", start=0, end=1, step=0.05, value=0, width=220)
    verdict = Select(
        title="verdict", value="all", options=["all", "unvetted", *VERDICTS], width=120
    )
    refilter = CustomJS(
        args=dict(src=src, filt=filt, obs=obs, minprob=minprob, verdict=verdict), code=_FILTER_JS
    )
    obs.js_on_change("value", refilter)
    minprob.js_on_change("value", refilter)
    verdict.js_on_change("value", refilter)
    return obs, minprob, verdict


def vetting_controls(src: Any, table: Any, quick: Any) -> tuple[Any, Any, Any, Any]:
    """(info, verdict buttons, note, download button): mark the selected candidate in the page."""
    from bokeh.models import Button, CustomJS, Div, RadioButtonGroup, TextInput

    labels = ["unvetted", *VERDICTS]
    info = Div(text="Tap a candidate on the map or a row of the table.", width=560)
    buttons = RadioButtonGroup(labels=labels, active=0, width=300, name="verdict-buttons")
    note = TextInput(title="note", width=300, name="verdict-note")
    args = dict(src=src, buttons=buttons, note=note, labels=labels, table=table)
    set_verdict = CustomJS(args=args, code=_VERDICT_JS)
    buttons.js_on_change("active", set_verdict)
    note.js_on_change("value", set_verdict)
    src.selected.js_on_change(
        "indices",
        CustomJS(
            args=dict(args, info=info, quick=quick),
            code=_SELECT_JS.replace("QW", str(QUICK_SIZE[0])).replace("QH", str(QUICK_SIZE[1])),
        ),
    )
    download = Button(
        label="Download verdicts CSV (for `areoscan vet`)", button_type="success", name="download"
    )
    download.js_on_event("button_click", CustomJS(args=dict(src=src), code=_DOWNLOAD_JS))
    return info, buttons, note, download
