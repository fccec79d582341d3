package bench

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestResultsOutput(t *testing.T) {
	s := samples{}
	for _, v := range []float64{300, 100, 200} {
		s.add("decode", "parley", "ns", v)
	}
	s.add("decode", "mellium", "ns", 500)
	s.add("decode", "mellium", "ns", 300)
	if m, _ := s.median("decode", "parley", "ns"); m != 200 {
		t.Errorf("median of 100 200 300 = %v", m)
	}
	if m, _ := s.median("decode", "mellium", "ns"); m != 400 {
		t.Errorf("median of 300 500 = %v", m)
	}
	s.add("cpu", "parley", "recv", 30)
	s.add("cpu", "gosrc", "recv", 50)
	s.add("cpu", floorName, "recv", 10)
	run := runInfo{Start: time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 2, 13, 9, 0, 0, time.UTC), Rounds: 3}
	md := resultsMarkdown(run, s)
	for _, want := range []string{
		"2026-12-02 13:00 – 13:09 UTC",
		"| parley | 200 |", "| mellium | 400 |", "2.00×",
		"| gosrc | 50.0 | 40.0 | 2.00× |", // own = figure minus the floor
		"| floor (bytes only) | 10.0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if strings.Contains(md, "**Encode**") || strings.Contains(md, "**Idle memory**") {
		t.Errorf("parts that did not run are in\n%s", md)
	}
	svg := resultsChart(run, s)
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("chart is not XML: %v", err)
	}
	if !strings.Contains(svg, ">1/2<") || !strings.Contains(svg, ">4×<") || strings.Contains(svg, ">1/4<") || strings.Contains(svg, ">8×<") {
		t.Errorf("axis not fitted to ratios of 2×:\n%s", svg)
	}
	for _, want := range []string{"decode: time", "mellium decode: time: 2.00×", "gosrc CPU per received message (own): 2.00×", "mellium: n/a"} {
		if !strings.Contains(svg, want) {
			t.Errorf("no %q in the chart", want)
		}
	}
}
