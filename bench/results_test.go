package bench

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
)

const (
	resultsDir    = "results"
	resultsMD     = "results.md"
	resultsSVG    = "ratios.svg"
	readmeBegin   = "<!-- results: written by TestCompare -->"
	readmeEnd     = "<!-- end of results -->"
	libNamesOrder = "parley mellium gosrc go-xmpp"
)

var libNames = strings.Fields(libNamesOrder)

// writeResults writes the Markdown tables and the SVG chart, and puts the
// tables into README.md between its markers.
func writeResults(run runInfo, s samples) error {
	md := resultsMarkdown(run, s)
	if err := os.MkdirAll(resultsDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(resultsDir, resultsMD), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(resultsDir, resultsSVG), []byte(resultsChart(run, s)), 0o644); err != nil {
		return err
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		return err
	}
	before, rest, ok1 := strings.Cut(string(readme), readmeBegin)
	_, after, ok2 := strings.Cut(rest, readmeEnd)
	if !ok1 || !ok2 {
		return fmt.Errorf("README.md lacks the markers %q and %q", readmeBegin, readmeEnd)
	}
	out := before + readmeBegin + "\n\n" + md + "\n![Ratios to Parley](results/" + resultsSVG + ")\n\n" + readmeEnd + after
	return os.WriteFile("README.md", []byte(out), 0o644)
}

// cell formats the median of a metric, or "–" when it was not measured.
func cell(s samples, part, lib, metric string, prec int) string {
	v, ok := s.median(part, lib, metric)
	if !ok {
		return "–"
	}
	return ftoa(v, prec)
}

// ratio formats lib's median over Parley's.
func ratio(s samples, part, lib, metric string) string {
	if r, ok := ratioOf(s, part, lib, metric); ok {
		return ftoa(r, 2) + "×"
	}
	return "–"
}

func ratioOf(s samples, part, lib, metric string) (float64, bool) {
	v, ok1 := s.median(part, lib, metric)
	p, ok2 := s.median(part, "parley", metric)
	if !ok1 || !ok2 || p <= 0 || v <= 0 {
		return 0, false
	}
	return v / p, true
}

// minusFloor is a CPU metric minus the floor's, per library.
func minusFloor(s samples, metric string) samples {
	out := samples{}
	f, ok := s.median("cpu", floorName, metric)
	if !ok {
		return out
	}
	for _, lib := range libNames {
		if v, ok := s.median("cpu", lib, metric); ok {
			out.add("cpu", lib, metric, v-f)
		}
	}
	return out
}

func resultsMarkdown(run runInfo, s samples) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ran %s – %s UTC on %s; medians of %d interleaved rounds.\n\n",
		run.Start.Format("2006-01-02 15:04"), run.End.Format("15:04"), machine(), run.Rounds)
	if _, ok := s.median("decode", "parley", "ns"); ok {
		fmt.Fprintf(&b, "**Decode**: one stream of %d stanzas, %d bytes (seed %d), through each library's receive path into its typed stanzas.\n\n",
			run.CorpusStanzas, run.CorpusBytes, corpusSeed)
		b.WriteString("| library | ns/stanza | MB/s | allocs/stanza | B/stanza | time ÷ Parley |\n|---|--:|--:|--:|--:|--:|\n")
		for _, d := range decoders {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", d.name,
				cell(s, "decode", d.name, "ns", 0), cell(s, "decode", d.name, "MB/s", 1),
				cell(s, "decode", d.name, "allocs", 1), cell(s, "decode", d.name, "B", 0), ratio(s, "decode", d.name, "ns"))
		}
		b.WriteString("\n")
	}
	if _, ok := s.median("encode", "parley", "ns"); ok {
		b.WriteString("**Encode**: one chat message (body, thread, chat state, receipt request) through each library's send path into a reused buffer.\n\n")
		b.WriteString("| library | ns/message | allocs/message | B/message | time ÷ Parley |\n|---|--:|--:|--:|--:|\n")
		for _, e := range encoders {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.name,
				cell(s, "encode", e.name, "ns", 0), cell(s, "encode", e.name, "allocs", 0),
				cell(s, "encode", e.name, "B", 0), ratio(s, "encode", e.name, "ns"))
		}
		b.WriteString("\n")
	}
	if _, ok := s.median("cpu", "parley", "recv"); ok {
		fmt.Fprintf(&b, "**CPU per message** between two clients of the same library through %s on loopback over STARTTLS (TLS 1.3), message archive off, one message per write, %d messages each way per round: this process's user+system CPU time (getrusage), the peer in another process. The floor reads and discards the bytes, or writes pre-encoded ones, on the logged-in TLS connection; \"own\" is a library's figure minus the floor's.\n\n",
			run.Server, run.Messages)
		rf, sf := minusFloor(s, "recv"), minusFloor(s, "sent")
		b.WriteString("| library | µs CPU/received | own | own ÷ Parley | µs CPU/sent | own | own ÷ Parley |\n|---|--:|--:|--:|--:|--:|--:|\n")
		for _, lib := range append(libNames[:len(libNames):len(libNames)], floorName) {
			label := lib
			if lib == floorName {
				label = "floor (bytes only)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", label,
				cell(s, "cpu", lib, "recv", 1), cell(rf, "cpu", lib, "recv", 1), ratio(rf, "cpu", lib, "recv"),
				cell(s, "cpu", lib, "sent", 1), cell(sf, "cpu", lib, "sent", 1), ratio(sf, "cpu", lib, "sent"))
		}
		b.WriteString("\n")
	}
	if _, ok := s.median("idle", "parley", "tls"); ok {
		fmt.Fprintf(&b, "**Idle memory** per logged-in session: %d sessions per library to %s, heap plus stack in use after GC, divided by the sessions.\n\n", run.Sessions, run.Server)
		b.WriteString("| library | B/session, STARTTLS | ÷ Parley | B/session, no TLS | ÷ Parley |\n|---|--:|--:|--:|--:|\n")
		for _, lib := range libNames {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", lib,
				cell(s, "idle", lib, "tls", 0), ratio(s, "idle", lib, "tls"), cell(s, "idle", lib, "plain", 0), ratio(s, "idle", lib, "plain"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// resultsChart draws, for each measure, one bar per other library: its
// median over Parley's, on a logarithmic axis (1 = Parley; right of it
// costs more).
func resultsChart(run runInfo, s samples) string {
	type measure struct {
		label        string
		s            samples
		part, metric string
	}
	rf, sf := minusFloor(s, "recv"), minusFloor(s, "sent")
	measures := []measure{
		{"decode: time", s, "decode", "ns"},
		{"decode: bytes allocated", s, "decode", "B"},
		{"encode: time", s, "encode", "ns"},
		{"encode: bytes allocated", s, "encode", "B"},
		{"CPU per received message (own)", rf, "cpu", "recv"},
		{"CPU per sent message (own)", sf, "cpu", "sent"},
		{"idle memory, STARTTLS", s, "idle", "tls"},
		{"idle memory, no TLS", s, "idle", "plain"},
	}
	others := libNames[1:]
	colors := map[string]string{"mellium": "#4c78a8", "gosrc": "#f58518", "go-xmpp": "#54a24b"}
	const left, width, barH, gap, top = 230.0, 460.0, 12.0, 10.0, 50.0
	// The axis spans the powers of two around the ratios, at least 1/2 to 4.
	minR, maxR := 0.5, 4.0
	for _, m := range measures {
		for _, lib := range others {
			if r, ok := ratioOf(m.s, m.part, lib, m.metric); ok {
				for minR > r && minR > 1.0/64 {
					minR /= 2
				}
				for maxR < r && maxR < 1024 {
					maxR *= 2
				}
			}
		}
	}
	x := func(r float64) float64 {
		r = math.Max(minR, math.Min(maxR, r))
		return left + width*(math.Log2(r)-math.Log2(minR))/(math.Log2(maxR)-math.Log2(minR))
	}
	var rows []measure
	for _, m := range measures {
		if _, ok := m.s.median(m.part, "parley", m.metric); ok {
			rows = append(rows, m)
		}
	}
	groupH := float64(len(others))*barH + gap
	height := top + float64(len(rows))*groupH + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", left+width+60, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="13" font-weight="bold">Cost relative to Parley (1×; log scale, right = costs more)</text>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="34" fill="#555">%s UTC, %s</text>`+"\n", run.Start.Format("2006-01-02 15:04"), html.EscapeString(machine()))
	for r := minR; r <= maxR; r *= 2 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s"/>`+"\n", x(r), top-5, x(r), height-40, map[bool]string{true: "#000", false: "#ddd"}[r == 1])
		label := ftoa(r, 0) + "×"
		if r < 1 {
			label = "1/" + ftoa(1/r, 0)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", x(r), height-26, label)
	}
	for i, m := range rows {
		y := top + float64(i)*groupH
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+float64(len(others))*barH/2+4, html.EscapeString(m.label))
		for j, lib := range others {
			r, ok := ratioOf(m.s, m.part, lib, m.metric)
			by := y + float64(j)*barH
			if !ok {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#999">%s: n/a</text>`+"\n", x(1)+4, by+barH-3, lib)
				continue
			}
			x0, x1 := math.Min(x(1), x(r)), math.Max(x(1), x(r))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s×</title></rect>`+"\n",
				x0, by+1, math.Max(x1-x0, 1), barH-2, colors[lib], lib, html.EscapeString(m.label), ftoa(r, 2))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#333">%s×</text>`+"\n", x1+3, by+barH-3, ftoa(r, 2))
		}
	}
	lx := left
	for _, lib := range others {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", lx, height-16, colors[lib], lx+14, height-7, lib)
		lx += 90
	}
	b.WriteString("</svg>\n")
	return b.String()
}
