package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The console's charts: small SVG drawings built here and inlined in the
// page, so they need neither JavaScript nor anything from elsewhere. Each
// chart has a title and a description (<title>, <desc>) that screen
// readers announce, axis labels, and a stable id.

// Chart colours, readable on white and in print.
const (
	chartInk    = "#1d232b"
	chartMuted  = "#5b6673"
	chartLine   = "#d8dde3"
	chartAccent = "#0b61a4"
	chartTrack  = "#e8edf2"
	chartAlert  = "#b3261e"
)

// Bar is one bar of a BarChart. With Total > 0 the bar is drawn as progress
// over a track of Total (contacts done of all contacts). Colour, if set,
// overrides the chart's colour; Note, if set, is written after the value.
type Bar struct {
	Label  string
	Value  float64
	Total  float64
	Colour string
	Note   string
}

// BarChart is a horizontal bar chart: one row per bar, the label on the
// left, the value at the bar's end.
type BarChart struct {
	ID     string
	Title  string
	Desc   string
	XLabel string // what the values count, under the axis
	Bars   []Bar
	// Max is the axis's end; 0 means the largest value (or total).
	Max   float64
	Width int // default 480
	Empty string
}

// svgText escapes text for SVG (and XML): &, <, >, ' and ".
func svgText(s string) string { return template.HTMLEscapeString(s) }

// svgNum writes a coordinate with at most one decimal.
func svgNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// fmtValue writes a chart value: whole numbers without decimals, others with
// one.
func fmtValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// svgOpen starts an SVG element with its accessible title and description.
func svgOpen(b *strings.Builder, id, title, desc string, w, h int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %d %d" width="%d" height="%d" font-family="system-ui, sans-serif" font-size="12">`,
		svgText(id), svgText(id), svgText(id), w, h, w, h)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, svgText(id), svgText(title), svgText(id), svgText(desc))
	fmt.Fprintf(b, `<text x="0" y="14" font-weight="600" fill="%s">%s</text>`, chartInk, svgText(title))
}

// SVG draws the chart.
func (c BarChart) SVG() template.HTML {
	const (
		top, rowH, barH, labelW, valueW, bottom = 26, 24, 16, 130, 90, 34
	)
	w := c.Width
	if w <= 0 {
		w = 480
	}
	rows := max(len(c.Bars), 1)
	h := top + rows*rowH + bottom
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, c.Desc, w, h)
	plotW := float64(w - labelW - valueW)
	top0 := float64(top)
	end := c.Max
	for _, bar := range c.Bars {
		end = max(end, bar.Value, bar.Total)
	}
	if len(c.Bars) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" fill="%s">%s</text>`, labelW, top+16, chartMuted, svgText(c.Empty))
	}
	for i, bar := range c.Bars {
		y := top0 + float64(i*rowH) + float64(rowH-barH)/2
		colour := bar.Colour
		if colour == "" {
			colour = chartAccent
		}
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, labelW-8, svgNum(y+barH-4), chartInk, svgText(bar.Label))
		if bar.Total > 0 {
			fmt.Fprintf(&b, `<rect class="track" x="%d" y="%s" width="%s" height="%d" fill="%s"/>`, labelW, svgNum(y), svgNum(chartScale(bar.Total, end, plotW)), barH, chartTrack)
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%s" width="%s" height="%d" fill="%s"><title>%s: %s</title></rect>`,
			labelW, svgNum(y), svgNum(chartScale(bar.Value, end, plotW)), barH, colour, svgText(bar.Label), svgText(barValue(bar)))
		fmt.Fprintf(&b, `<text class="value" x="%s" y="%s" fill="%s">%s</text>`,
			svgNum(float64(labelW)+chartScale(max(bar.Value, bar.Total), end, plotW)+6), svgNum(y+barH-4), chartInk, svgText(barValue(bar)))
	}
	// The axis: a line under the bars, 0 and the end marked.
	axisY := top + rows*rowH + 4
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%s" y2="%d" stroke="%s"/>`, labelW, axisY, svgNum(float64(labelW)+plotW), axisY, chartLine)
	fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" fill="%s">0</text>`, labelW, axisY+14, chartMuted)
	fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="end" fill="%s">%s</text>`, svgNum(float64(labelW)+plotW), axisY+14, chartMuted, fmtValue(end))
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%d" text-anchor="middle" fill="%s">%s</text>`, svgNum(float64(labelW)+plotW/2), axisY+28, chartMuted, svgText(c.XLabel))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func barValue(bar Bar) string {
	s := fmtValue(bar.Value)
	if bar.Total > 0 {
		s += " / " + fmtValue(bar.Total)
	}
	if bar.Note != "" {
		s += " " + bar.Note
	}
	return s
}

// chartScale maps v in [0, end] to [0, width].
func chartScale(v, end, width float64) float64 {
	if end <= 0 || v <= 0 {
		return 0
	}
	return min(v, end) / end * width
}

// LinePoint is one point of a line: its label on the x axis and its value;
// nil is a gap (nothing measured that day).
type LinePoint struct {
	Label string
	Value *float64
	N     int // what the value is over, shown in the point's tooltip
}

// LineChart is a line over labelled points with a fixed y range.
type LineChart struct {
	ID     string
	Title  string
	Desc   string
	XLabel string
	YLabel string
	Points []LinePoint
	// YMin and YMax bound the y axis (CSAT 0–100, NPS −100–100).
	YMin, YMax float64
	Width      int // default 480
	// Every labels every n-th point on the x axis (default: about 7 labels).
	Every int
}

// SVG draws the chart: the line through the measured points, each point a
// circle, gaps where nothing was measured.
func (c LineChart) SVG() template.HTML {
	const (
		left, right, top, bottom, h = 48, 12, 28, 40, 200
	)
	w := c.Width
	if w <= 0 {
		w = 480
	}
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, c.Desc, w, h)
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	span := c.YMax - c.YMin
	if span <= 0 {
		span = 1
	}
	x := func(i int) float64 {
		if len(c.Points) <= 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + float64(i)*plotW/float64(len(c.Points)-1)
	}
	y := func(v float64) float64 {
		v = min(max(v, c.YMin), c.YMax)
		return float64(top) + plotH - (v-c.YMin)/span*plotH
	}
	// Grid: the bounds and, if inside, zero.
	for _, g := range []float64{c.YMin, (c.YMin + c.YMax) / 2, c.YMax} {
		fmt.Fprintf(&b, `<line x1="%d" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, left, svgNum(y(g)), svgNum(float64(left)+plotW), svgNum(y(g)), chartLine)
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, left-6, svgNum(y(g)+4), chartMuted, fmtValue(g))
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="12" y="%s" text-anchor="middle" fill="%s" transform="rotate(-90 12 %s)">%s</text>`,
		svgNum(float64(top)+plotH/2), chartMuted, svgNum(float64(top)+plotH/2), svgText(c.YLabel))
	every := c.Every
	if every <= 0 {
		every = max(1, (len(c.Points)+6)/7)
	}
	var path []string
	for i, p := range c.Points {
		if (len(c.Points)-1-i)%every == 0 {
			fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="middle" fill="%s">%s</text>`, svgNum(x(i)), top+int(plotH)+14, chartMuted, svgText(p.Label))
		}
		if p.Value == nil {
			if len(path) > 0 {
				fmt.Fprintf(&b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(path, " "), chartAccent)
				path = path[:0]
			}
			continue
		}
		path = append(path, svgNum(x(i))+","+svgNum(y(*p.Value)))
	}
	if len(path) > 0 {
		fmt.Fprintf(&b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(path, " "), chartAccent)
	}
	for i, p := range c.Points {
		if p.Value == nil {
			continue
		}
		fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="3" fill="%s"><title>%s: %s (n=%d)</title></circle>`,
			svgNum(x(i)), svgNum(y(*p.Value)), chartAccent, svgText(p.Label), fmtValue(math.Round(*p.Value*10)/10), p.N)
	}
	fmt.Fprintf(&b, `<text class="axis-label" x="%s" y="%d" text-anchor="middle" fill="%s">%s</text>`, svgNum(float64(left)+plotW/2), h-6, chartMuted, svgText(c.XLabel))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// IntervalRow is one row of an IntervalChart: an estimate, its confidence
// interval and the reference it is judged against.
type IntervalRow struct {
	Label                          string
	Value, Lower, Upper, Reference float64
	Outlier                        bool
}

// IntervalChart draws each estimate as a dot on its interval with the
// reference as a dashed tick. Rows measure different things, so each row
// has its own scale, from the smallest to the largest of its numbers; the
// numbers are written beside the row.
type IntervalChart struct {
	ID    string
	Title string
	Desc  string
	Rows  []IntervalRow
	Width int // default 640
	// Legend texts: the estimate and the reference.
	ValueLabel, ReferenceLabel string
	Empty                      string
}

// SVG draws the chart.
func (c IntervalChart) SVG() template.HTML {
	const (
		top, rowH, labelW, numW, bottom = 30, 30, 170, 210, 24
	)
	w := c.Width
	if w <= 0 {
		w = 640
	}
	rows := max(len(c.Rows), 1)
	h := top + rows*rowH + bottom
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, c.Desc, w, h)
	plotW := float64(w - labelW - numW)
	if len(c.Rows) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d" fill="%s">%s</text>`, labelW, top+16, chartMuted, svgText(c.Empty))
	}
	for i, r := range c.Rows {
		lo := min(r.Lower, r.Value, r.Reference)
		hi := max(r.Upper, r.Value, r.Reference)
		pad := (hi - lo) * 0.1
		if pad == 0 {
			pad = math.Max(math.Abs(hi)*0.1, 1)
		}
		lo, hi = lo-pad, hi+pad
		x := func(v float64) float64 { return float64(labelW) + (v-lo)/(hi-lo)*plotW }
		cy := float64(top + i*rowH + rowH/2)
		colour := chartAccent
		if r.Outlier {
			colour = chartAlert
		}
		fmt.Fprintf(&b, `<g class="interval" data-metric="%s">`, svgText(r.Label))
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, labelW-8, svgNum(cy+4), chartInk, svgText(r.Label))
		fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, labelW, svgNum(cy), svgNum(float64(labelW)+plotW), svgNum(cy), chartTrack)
		fmt.Fprintf(&b, `<line class="range" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"/>`, svgNum(x(r.Lower)), svgNum(cy), svgNum(x(r.Upper)), svgNum(cy), colour)
		fmt.Fprintf(&b, `<line class="reference" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="3 2" stroke-width="2"/>`, svgNum(x(r.Reference)), svgNum(cy-10), svgNum(x(r.Reference)), svgNum(cy+10), chartInk)
		fmt.Fprintf(&b, `<circle class="value" cx="%s" cy="%s" r="4" fill="%s"><title>%s: %s [%s, %s]; %s %s</title></circle>`,
			svgNum(x(r.Value)), svgNum(cy), colour, svgText(r.Label), statNum(r.Value), statNum(r.Lower), statNum(r.Upper), svgText(c.ReferenceLabel), statNum(r.Reference))
		fmt.Fprintf(&b, `<text class="numbers" x="%s" y="%s" fill="%s">%s [%s, %s] · %s</text>`,
			svgNum(float64(labelW)+plotW+8), svgNum(cy+4), chartInk, statNum(r.Value), statNum(r.Lower), statNum(r.Upper), statNum(r.Reference))
		b.WriteString(`</g>`)
	}
	ly := top + rows*rowH + 14
	fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="4" fill="%s"/><text x="%d" y="%d" fill="%s">%s</text>`, labelW, ly-4, chartAccent, labelW+8, ly, chartMuted, svgText(c.ValueLabel))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-dasharray="3 2" stroke-width="2"/><text x="%d" y="%d" fill="%s">%s</text>`,
		labelW+160, ly-10, labelW+160, ly+2, chartInk, labelW+168, ly, chartMuted, svgText(c.ReferenceLabel))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// statNum writes a statistic with up to three significant decimals.
func statNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
