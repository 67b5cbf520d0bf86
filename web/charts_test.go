package web

import (
	"encoding/xml"
	"html/template"
	"strings"
	"testing"
)

// svgNode is an element of a parsed chart.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// walk calls f on n and every element under it.
func (n svgNode) walk(f func(svgNode)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

// parseSVG parses a chart strictly as XML, failing the test if it is not.
func parseSVG(t *testing.T, h template.HTML) svgNode {
	t.Helper()
	var root svgNode
	d := xml.NewDecoder(strings.NewReader(string(h)))
	d.Strict = true
	if err := d.Decode(&root); err != nil {
		t.Fatalf("chart is not valid XML: %v\n%s", err, h)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element = %v, want svg in the SVG namespace", root.XMLName)
	}
	return root
}

// byClass returns the elements of a class, in document order.
func byClass(root svgNode, class string) []svgNode {
	var out []svgNode
	root.walk(func(n svgNode) {
		if n.attr("class") == class {
			out = append(out, n)
		}
	})
	return out
}

func texts(nodes []svgNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Text)
	}
	return out
}

// checkAccessible checks the chart's <title> and <desc> and that the svg
// names them.
func checkAccessible(t *testing.T, root svgNode, id, title, desc string) {
	t.Helper()
	if root.attr("id") != id || root.attr("role") != "img" {
		t.Errorf("svg id=%q role=%q, want %q img", root.attr("id"), root.attr("role"), id)
	}
	if got := root.attr("aria-labelledby"); got != id+"-title "+id+"-desc" {
		t.Errorf("aria-labelledby = %q", got)
	}
	var gotTitle, gotDesc string
	for _, c := range root.Children {
		switch c.XMLName.Local {
		case "title":
			gotTitle = c.Text
		case "desc":
			gotDesc = c.Text
		}
	}
	if gotTitle != title || gotDesc != desc {
		t.Errorf("title, desc = %q, %q; want %q, %q", gotTitle, gotDesc, title, desc)
	}
}

func TestBarChartSVG(t *testing.T) {
	c := BarChart{ID: "chart-x", Title: `Attempts <today> & "more"`, Desc: "by outcome", XLabel: "attempts",
		Bars: []Bar{{Label: "completed", Value: 2}, {Label: "no answer", Value: 1}, {Label: "busy", Value: 0}}}
	root := parseSVG(t, c.SVG())
	checkAccessible(t, root, "chart-x", `Attempts <today> & "more"`, "by outcome")
	bars := byClass(root, "bar")
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3", len(bars))
	}
	// Widths are proportional: the longest bar fills the plot (480-130-90).
	for i, want := range []string{"260", "130", "0"} {
		if got := bars[i].attr("width"); got != want {
			t.Errorf("bar %d width = %s, want %s", i, got, want)
		}
	}
	if got := strings.Join(texts(byClass(root, "label")), "|"); got != "completed|no answer|busy" {
		t.Errorf("labels = %q", got)
	}
	if got := strings.Join(texts(byClass(root, "value")), "|"); got != "2|1|0" {
		t.Errorf("values = %q", got)
	}
	if got := strings.Join(texts(byClass(root, "tick")), "|"); got != "0|2" {
		t.Errorf("axis ticks = %q", got)
	}
	if got := texts(byClass(root, "axis-label")); len(got) != 1 || got[0] != "attempts" {
		t.Errorf("axis label = %q", got)
	}
}

func TestBarChartProgressAndEmpty(t *testing.T) {
	c := BarChart{ID: "p", Title: "progress", Max: 0,
		Bars: []Bar{{Label: "spring", Value: 30, Total: 120}, {Label: "autumn", Value: 60, Total: 60}}}
	root := parseSVG(t, c.SVG())
	if n := len(byClass(root, "track")); n != 2 {
		t.Fatalf("%d tracks, want 2", n)
	}
	// The axis ends at the largest total; 30 of 120 is a quarter of it.
	if got := byClass(root, "bar")[0].attr("width"); got != "65" {
		t.Errorf("progress bar width = %s, want 65", got)
	}
	if got := strings.Join(texts(byClass(root, "value")), "|"); got != "30 / 120|60 / 60" {
		t.Errorf("values = %q", got)
	}
	empty := parseSVG(t, BarChart{ID: "e", Title: "none", Empty: "No active campaigns."}.SVG())
	if got := texts(byClass(empty, "empty")); len(got) != 1 || got[0] != "No active campaigns." {
		t.Errorf("empty chart text = %q", got)
	}
	if n := len(byClass(empty, "bar")); n != 0 {
		t.Errorf("%d bars in an empty chart", n)
	}
}

func fp(v float64) *float64 { return &v }

func TestLineChartSVG(t *testing.T) {
	pts := []LinePoint{
		{Label: "11-20", Value: fp(80), N: 5},
		{Label: "11-21", Value: nil},
		{Label: "11-22", Value: fp(100), N: 2},
		{Label: "11-23", Value: fp(50), N: 4},
	}
	root := parseSVG(t, LineChart{ID: "chart-csat", Title: "CSAT", Desc: "per day", XLabel: "day", YLabel: "CSAT %",
		Points: pts, YMin: 0, YMax: 100, Width: 360, Every: 1}.SVG())
	checkAccessible(t, root, "chart-csat", "CSAT", "per day")
	points := byClass(root, "point")
	if len(points) != 3 {
		t.Fatalf("%d points, want 3 (one day without answers)", len(points))
	}
	// The plot is 300 wide from x=48 and 132 high from y=28: y(100)=28,
	// y(50)=94, y(80)=54.4.
	want := [][2]string{{"48", "54.4"}, {"248", "28"}, {"348", "94"}}
	for i, p := range points {
		if p.attr("cx") != want[i][0] || p.attr("cy") != want[i][1] {
			t.Errorf("point %d at (%s, %s), want (%s, %s)", i, p.attr("cx"), p.attr("cy"), want[i][0], want[i][1])
		}
	}
	if got := points[0].Children[0].Text; got != "11-20: 80 (n=5)" {
		t.Errorf("point tooltip = %q", got)
	}
	// The gap splits the line in two.
	lines := byClass(root, "line")
	if len(lines) != 2 || lines[0].attr("points") != "48,54.4" || lines[1].attr("points") != "248,28 348,94" {
		t.Errorf("lines = %+v", lines)
	}
	ticks := texts(byClass(root, "tick"))
	if got := strings.Join(ticks, "|"); got != "0|50|100|11-20|11-21|11-22|11-23" {
		t.Errorf("ticks = %q", got)
	}
	if got := strings.Join(texts(byClass(root, "axis-label")), "|"); got != "CSAT %|day" {
		t.Errorf("axis labels = %q", got)
	}
}

func TestIntervalChartSVG(t *testing.T) {
	rows := []IntervalRow{
		{Label: "P1.parts_per_repair", Value: 2, Lower: 1.5, Upper: 2.5, Reference: 1, Outlier: true},
		{Label: "P4.repeat_rate", Value: 0.05, Lower: 0.02, Upper: 0.08, Reference: 0.1},
	}
	root := parseSVG(t, IntervalChart{ID: "chart-stats", Title: "Statistics", Desc: "intervals", Rows: rows,
		ValueLabel: "estimate", ReferenceLabel: "reference"}.SVG())
	checkAccessible(t, root, "chart-stats", "Statistics", "intervals")
	groups := byClass(root, "interval")
	if len(groups) != 2 || groups[0].attr("data-metric") != "P1.parts_per_repair" {
		t.Fatalf("interval rows = %d", len(groups))
	}
	// Row 1 spans 1 … 2.5 padded by 0.15: x(v) = 170 + (v-0.85)/1.8*260.
	vals := byClass(root, "value")
	if vals[0].attr("cx") != "336.1" || vals[0].attr("fill") != chartAlert {
		t.Errorf("outlier dot at %s fill %s", vals[0].attr("cx"), vals[0].attr("fill"))
	}
	if vals[1].attr("fill") != chartAccent {
		t.Errorf("non-outlier fill %s", vals[1].attr("fill"))
	}
	ref := byClass(root, "reference")[0]
	if ref.attr("x1") != "191.7" {
		t.Errorf("reference at %s, want 191.7", ref.attr("x1"))
	}
	if got := strings.Join(texts(byClass(root, "numbers")), "|"); got != "2 [1.5, 2.5] · 1|0.05 [0.02, 0.08] · 0.1" {
		t.Errorf("numbers = %q", got)
	}
	if got := strings.Join(texts(byClass(root, "label")), "|"); got != "P1.parts_per_repair|P4.repeat_rate" {
		t.Errorf("labels = %q", got)
	}
}
