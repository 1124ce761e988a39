package analyzer

// The report as one self-contained HTML page: no network access at view time (no external
// scripts, styles or fonts), the flow diagram drawn here as inline SVG, sortable tables with
// a few lines of inline JavaScript, and a print style.

import (
	"fmt"
	"html"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	colorOK      = "#1a7f37"
	colorBlocked = "#cf222e"
)

// svg layout constants (pixels); text is monospace so its width can be estimated.
const (
	svgCharW   = 7.3 // width of one character at 12px monospace
	svgRowH    = 18
	svgHeadH   = 24
	svgPad     = 10
	svgColGap  = 170
	svgGroupGp = 18
	svgMargin  = 16
)

type box struct{ x, y, w, h float64 }

// FlowSVG draws the flow graph: a column per layer of hosts grouped by role; each server
// lists its services, each with an arrow from the client (group) that used it: green when
// every flow got through, red when one failed (the outcome written beside it), dashed for
// dynamic RPC.
func (r *Report) FlowSVG() string {
	g := r.buildGraph()
	if len(g.edges) == 0 {
		return ""
	}
	// Columns: a group goes right of every group with an edge into it (longest path; cycles
	// are cut after as many rounds as there are groups).
	for round := 0; round < len(g.groups); round++ {
		changed := false
		for _, e := range g.edges {
			if e.from == e.to.group {
				continue
			}
			if c := e.from.col + 1; c > e.to.group.col && c < len(g.groups)+1 {
				e.to.group.col = c
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	ncol := 0
	for _, gr := range g.groups {
		if gr.col+1 > ncol {
			ncol = gr.col + 1
		}
	}
	rowText := func(e *graphEdge) string {
		s := e.service + " " + e.portsLabel()
		if e.failed > 0 {
			s += ": " + e.outcomeLabel()
		}
		return s
	}
	colW := make([]float64, ncol)
	for _, h := range g.hosts {
		w := float64(len([]rune(h.label())))*svgCharW + 2*svgPad
		for _, e := range h.in {
			if rw := float64(len([]rune(rowText(e))))*svgCharW + 2*svgPad + 14; rw > w {
				w = rw
			}
		}
		if w < 170 {
			w = 170
		}
		if w > colW[h.group.col] {
			colW[h.group.col] = w
		}
	}
	colX := make([]float64, ncol)
	x := float64(svgMargin)
	for c := range colX {
		colX[c] = x
		x += colW[c] + 2*svgPad + svgColGap
	}
	width := x - svgColGap + svgMargin
	hostBox := map[*graphHost]box{}
	groupBox := map[*graphGroup]box{}
	colY := make([]float64, ncol)
	for c := range colY {
		colY[c] = svgMargin
	}
	for _, gr := range g.groups {
		c := gr.col
		y0 := colY[c]
		y := y0 + svgHeadH
		for _, h := range gr.hosts {
			hh := float64(svgHeadH + len(h.in)*svgRowH + svgPad/2)
			hostBox[h] = box{colX[c] + svgPad, y, colW[c], hh}
			y += hh + svgPad
		}
		groupBox[gr] = box{colX[c], y0, colW[c] + 2*svgPad, y - y0}
		colY[c] = y + svgGroupGp
	}
	height := float64(svgMargin)
	for _, y := range colY {
		if y > height {
			height = y
		}
	}
	height += svgMargin - svgGroupGp
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="flows" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="flows between the hosts">`+"\n",
		width, height, width, height)
	b.WriteString(`<defs>`)
	for _, m := range []struct{ id, color string }{{"ok", colorOK}, {"bad", colorBlocked}} {
		fmt.Fprintf(&b, `<marker id="arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`, m.id, m.color)
	}
	b.WriteString("</defs>\n")
	for _, gr := range g.groups {
		bx := groupBox[gr]
		fmt.Fprintf(&b, `<g class="group"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" class="group-box"/><text x="%.1f" y="%.1f" class="group-title">%s</text></g>`+"\n",
			bx.x, bx.y, bx.w, bx.h, bx.x+svgPad, bx.y+16, esc(gr.label))
	}
	// Arrows under the boxes' text.
	for _, h := range g.hosts {
		tb := hostBox[h]
		for i, e := range h.in {
			var sx, sy float64
			if e.fromHost != nil {
				sb := hostBox[e.fromHost]
				sx, sy = sb.x+sb.w, sb.y+svgHeadH/2
			} else {
				sb := groupBox[e.from]
				sx, sy = sb.x+sb.w, sb.y+sb.h/2
			}
			tx, ty := tb.x, tb.y+svgHeadH+float64(i)*svgRowH+svgRowH/2
			dx := (tx - sx) / 2
			c1 := sx + dx
			if tx-sx < 40 {
				// Same column (a server that is also a client): leave by the left side and
				// loop through the gap on the left.
				if e.fromHost != nil {
					sx = hostBox[e.fromHost].x
				} else {
					sx = groupBox[e.from].x
				}
				dx = 45
				c1 = sx - dx
			}
			color, marker := colorOK, "ok"
			if e.failed > 0 {
				color, marker = colorBlocked, "bad"
			}
			dash := ""
			if e.dynamic {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(&b, `<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="%s" stroke-width="%s"%s marker-end="url(#arrow-%s)"><title>%s</title></path>`+"\n",
				sx, sy, c1, sy, tx-dx, ty, tx-1, ty, color, map[bool]string{true: "2.2", false: "1.4"}[e.failed > 0], dash, marker, esc(rowText(e)))
		}
	}
	for _, h := range g.hosts {
		bx := hostBox[h]
		fmt.Fprintf(&b, `<g class="host"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="5" class="host-box"/><text x="%.1f" y="%.1f" class="host-title">%s</text>`,
			bx.x, bx.y, bx.w, bx.h, bx.x+svgPad, bx.y+16, esc(h.label()))
		for i, e := range h.in {
			y := bx.y + svgHeadH + float64(i)*svgRowH
			cls, mark := "row-ok", "✓"
			if e.failed > 0 {
				cls, mark = "row-bad", "✗"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="%s">%s %s</text>`, bx.x+svgPad, y+13, cls, mark, esc(rowText(e)))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>")
	return b.String()
}

const htmlStyle = `
:root { --ok: #1a7f37; --bad: #cf222e; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 20px 28px 40px; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0; }
code, .mono, td.mono { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.verdict { margin: 16px 0; padding: 12px 16px; border-radius: 6px; border: 1px solid; font-size: 16px; }
.verdict.bad { background: #ffebe9; border-color: #ff8182; }
.verdict.good { background: #dafbe1; border-color: #4ac26b; }
ul.lines { padding-left: 20px; margin: 6px 0; }
ul.lines li { margin: 3px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg2); font-weight: 600; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: " \25B2"; font-size: 10px; }
table.sortable th[aria-sort=descending]::after { content: " \25BC"; font-size: 10px; }
.nowrap, td.mono { white-space: nowrap; }
td.bad, span.bad { color: var(--bad); font-weight: 600; }
td.ok, span.ok { color: var(--ok); }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
.legend { color: var(--muted); font-size: 12.5px; margin: 6px 0; }
.legend .sw { display: inline-block; width: 26px; height: 0; border-top: 3px solid; vertical-align: middle; margin: 0 4px 0 10px; }
svg.flows { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
svg.flows .group-box { fill: #f6f8fa; stroke: #afb8c1; }
svg.flows .group-title { font-weight: 700; fill: #59636e; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
svg.flows .host-box { fill: #fff; stroke: #8c959f; }
svg.flows .host-title { font-weight: 700; fill: #1f2328; }
svg.flows .row-ok { fill: var(--ok); }
svg.flows .row-bad { fill: var(--bad); font-weight: 700; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  section, tr, .figure { break-inside: avoid; }
  .figure { overflow: visible; border: none; padding: 0; }
  svg.flows { max-width: 100%; height: auto; }
  table.sortable th { cursor: auto; }
  table.sortable th::after { content: "" !important; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .noprint { display: none; }
}
`

// htmlScript sorts a table when its header is clicked (numbers as numbers). It marks the
// page data-ready="1" last, which the tests read to know it ran without error.
const htmlScript = `
(function () {
  function key(td) { return (td && (td.getAttribute("data-sort") || td.textContent) || "").trim(); }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var ths = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(ths, function (th, col) {
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(ths, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var num = rows.every(function (r) { var k = key(r.cells[col]); return k === "" || !isNaN(Number(k)); });
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c = num ? (Number(x) - Number(y)) : x.localeCompare(y, undefined, { numeric: true });
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  });
  document.body.setAttribute("data-ready", "1");
})();
`

type htmlTable struct {
	head []string
	rows [][]htmlCell
}

type htmlCell struct {
	text, class, sort string
}

func (t *htmlTable) write(w *errWriter) {
	w.printf(`<table class="sortable"><thead><tr>`)
	for _, h := range t.head {
		w.printf("<th>%s</th>", html.EscapeString(h))
	}
	w.printf("</tr></thead><tbody>\n")
	for _, r := range t.rows {
		w.printf("<tr>")
		for _, c := range r {
			attr := ""
			if c.class != "" {
				attr += ` class="` + c.class + `"`
			}
			if c.sort != "" {
				attr += ` data-sort="` + html.EscapeString(c.sort) + `"`
			}
			w.printf("<td%s>%s</td>", attr, html.EscapeString(c.text))
		}
		w.printf("</tr>\n")
	}
	w.printf("</tbody></table>\n")
}

func outcomeClass(o string) string {
	if Failed(o) {
		return "bad"
	}
	return "ok"
}

// WriteHTML writes the report as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := &errWriter{w: w}
	esc := html.EscapeString
	var files []string
	for _, c := range r.Captures {
		files = append(files, filepath.Base(c.File))
	}
	s := r.Summary
	bw.printf("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	bw.printf("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	bw.printf("<title>adcsflow: %s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(strings.Join(files, ", ")), htmlStyle)
	bw.printf("<header><h1>adcsflow report</h1>\n<p class=\"meta\">%s: %d packets, %d flows", esc(strings.Join(files, ", ")), s.Packets, s.Flows)
	if !s.First.IsZero() {
		bw.printf(", %s (%s &ndash; %s UTC)", esc(fmtDuration(s.Last.Sub(s.First))), s.First.Format("2006-01-02 15:04:05"), s.Last.Format("15:04:05"))
	}
	bw.printf("</p></header>\n")
	cls := "good"
	if s.FailedFlows > 0 {
		cls = "bad"
	}
	bw.printf("<section class=\"verdict %s\" id=\"verdict\"><strong>Verdict:</strong> %s</section>\n", cls, esc(s.Verdict))
	var warns []string
	for _, c := range r.Captures {
		warns = append(warns, c.Warnings...)
	}
	warns = append(warns, r.Warnings...)
	if len(warns) > 0 {
		bw.printf("<section id=\"warnings\"><h2>Warnings</h2><ul class=\"lines\">")
		for _, x := range warns {
			bw.printf("<li>%s</li>", esc(x))
		}
		bw.printf("</ul></section>\n")
	}
	failed := r.FailedFlows()
	sort.SliceStable(failed, func(i, j int) bool { return failureRank(failed[i]) < failureRank(failed[j]) })
	if len(failed) > 0 {
		bw.printf("<section id=\"failed\"><h2>Failed flows</h2>\n")
		t := &htmlTable{head: []string{"Client", "Server", "Service", "Outcome", "Evidence"}}
		if r.TwoPoint != nil {
			t.head = []string{"Client", "Server", "Service", "Outcome", "Where lost", "Evidence"}
		}
		for _, f := range failed {
			row := []htmlCell{{text: f.Client.Addr().String(), class: "mono"},
				{text: f.Server.String() + "/" + f.Transport, class: "mono"}, {text: serviceLabel(f)},
				{text: f.Outcome, class: "bad nowrap"}}
			if r.TwoPoint != nil {
				where := "not compared"
				if f.points != nil && f.points.lost != "" {
					where = lostWords(f.points.lost)
				}
				row = append(row, htmlCell{text: where, class: "bad"})
			}
			t.rows = append(t.rows, append(row, htmlCell{text: failureWords(f)}))
		}
		t.write(bw)
		bw.printf("</section>\n")
	}
	if tp := r.TwoPoint; tp != nil {
		bw.printf("<section id=\"lost\"><h2>Where the packets were lost</h2>\n<ul class=\"lines\">")
		for _, p := range tp.Points {
			file := ""
			if p.Name != filepath.Base(p.File) {
				file = " (<code>" + esc(filepath.Base(p.File)) + "</code>)"
			}
			bw.printf("<li>point <strong>%s</strong>%s: %s clock %s</li>", esc(p.Name), file, esc(sideWords(p.Side)), esc(p.ClockOffsetText))
		}
		for _, n := range tp.Notes {
			bw.printf("<li>&#9888; %s</li>", esc(n))
		}
		bw.printf("</ul>\n<ul class=\"lines\">")
		for _, l := range r.LostLines() {
			bw.printf("<li>%s</li>", esc(l))
		}
		bw.printf("</ul></section>\n")
	}
	if svg := r.FlowSVG(); svg != "" {
		bw.printf("<section id=\"diagram\"><h2>Flows</h2>\n<p class=\"legend\">Each server lists the services its clients used."+
			"<span class=\"sw\" style=\"border-color:%s\"></span>got through<span class=\"sw\" style=\"border-color:%s\"></span>blocked (outcome beside the service)"+
			"<span class=\"sw\" style=\"border-top-style:dashed;border-color:#59636e\"></span>dynamic RPC (named by interface)</p>\n<div class=\"figure\">%s</div></section>\n",
			colorOK, colorBlocked, svg)
	}
	if lines := r.DynamicRPCLines(); len(lines) > 0 {
		bw.printf("<section id=\"dynrpc\"><h2>Dynamic RPC</h2><ul class=\"lines\">")
		for _, l := range lines {
			bw.printf("<li>%s</li>", esc(l))
		}
		bw.printf("</ul></section>\n")
	}
	if len(r.Diff) > 0 {
		bw.printf("<section id=\"diff\"><h2>Against the baseline &ldquo;%s&rdquo;</h2>\n", esc(r.Diff[0].Baseline))
		t := &htmlTable{head: []string{"Status", "Flow", "Flows", "Why"}}
		for _, d := range r.Diff {
			c := ""
			switch d.Status {
			case "blocked":
				c = "bad"
			case "ok":
				c = "ok"
			}
			t.rows = append(t.rows, []htmlCell{{text: d.Status, class: c}, {text: d.Rule}, {text: strconv.Itoa(len(d.Flows))}, {text: d.Reason}})
		}
		t.write(bw)
		bw.printf("</section>\n")
	}
	if len(r.Rules) > 0 {
		bw.printf("<section id=\"rules\"><h2>Rules</h2>\n")
		t := &htmlTable{head: []string{"From", "To", "Proto", "Ports", "Why"}}
		for _, ru := range r.Rules {
			t.rows = append(t.rows, []htmlCell{{text: strings.Join(ru.From, ", "), class: "mono"}, {text: strings.Join(ru.To, ", "), class: "mono"},
				{text: ru.Transport}, {text: ru.Ports, class: "mono"}, {text: ru.Why}})
		}
		t.write(bw)
		bw.printf("</section>\n")
	}
	if len(r.Hosts) > 0 {
		bw.printf("<section id=\"hosts\"><h2>Hosts</h2>\n")
		t := &htmlTable{head: []string{"Address", "Names", "Roles", "Why"}}
		for _, h := range r.Hosts {
			t.rows = append(t.rows, []htmlCell{{text: h.Addr.String(), class: "mono", sort: sortableAddr(h.Addr.String())},
				{text: strings.Join(h.Names, ", ")}, {text: strings.Join(h.Roles, ", ")}, {text: strings.Join(h.Evidence, "; ")}})
		}
		t.write(bw)
		bw.printf("</section>\n")
	}
	if len(r.Flows) > 0 {
		bw.printf("<section id=\"flows\"><h2>All flows</h2>\n")
		t := &htmlTable{head: []string{"First", "Client", "Server", "Service", "Outcome", "Packets", "Details"}}
		for _, f := range r.Flows {
			svc := f.Service
			if f.RPCInterface != "" {
				svc = f.RPCInterface + " (" + f.Service + ")"
			}
			out := f.Outcome
			if f.LostAt != "" {
				out += " (" + lostWords(f.LostAt) + ")"
			}
			t.rows = append(t.rows, []htmlCell{
				{text: f.First.Format("15:04:05.000"), class: "mono"},
				{text: fmt.Sprintf("%s:%d", f.Client, f.ClientPort), class: "mono", sort: sortableAddr(f.Client.String())},
				{text: fmt.Sprintf("%s:%d/%s", f.Server, f.ServerPort, f.Transport), class: "mono",
					sort: fmt.Sprintf("%s %05d", sortableAddr(f.Server.String()), f.ServerPort)},
				{text: svc}, {text: out, class: outcomeClass(f.Outcome) + " nowrap"}, {text: strconv.Itoa(f.Packets)}, {text: f.Summary}})
		}
		t.write(bw)
		bw.printf("</section>\n")
	} else if r.Summary.Flows > 0 {
		bw.printf("<section id=\"flows\"><h2>All flows</h2>\n<p>%d flows: too many to list here; <code>--format csv</code> or <code>--format json</code> lists every one.</p></section>\n", r.Summary.Flows)
	}
	bw.printf("<footer>Made by adcsflow. Click a column header to sort a table.</footer>\n<script>%s</script>\n</body></html>\n", htmlScript)
	return bw.err
}

// sortableAddr pads an IPv4 address's numbers so that text order is address order.
func sortableAddr(a string) string {
	parts := strings.Split(a, ".")
	if len(parts) != 4 {
		return a
	}
	for i, p := range parts {
		parts[i] = fmt.Sprintf("%03s", p)
	}
	return strings.Join(parts, ".")
}
