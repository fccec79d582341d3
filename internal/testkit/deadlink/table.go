package deadlink

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOptions are the options of the tests that use the package: the
// short run (200 messages, one fault per kind), or with long the run
// ARCHITECTURE.md's table comes from (2,000 messages, three faults per
// kind). SILENT_SEED repeats a run; the seed is logged.
func TestOptions(t *testing.T, long bool) Options {
	o := Options{Messages: 200, Faults: 1, Interval: 15 * time.Millisecond, Window: 50, Seed: uint64(time.Now().UnixNano())}
	if long {
		o.Messages, o.Faults = 2000, 3
	}
	if v, err := strconv.ParseUint(os.Getenv("SILENT_SEED"), 10, 64); err == nil {
		o.Seed = v
	}
	t.Logf("seed %d (SILENT_SEED to run it again), %d messages, %d faults per kind", o.Seed, o.Messages, o.Faults)
	return o
}

// RunAll runs every fault kind as a subtest and logs the table of
// results under name. Nothing may be lost or handed to the application
// twice, and each fault must be resumed once; reorders and resumptions of
// the other session fail too, unless handover is set (a server whose
// resumption hands over while the old connection still routes: they are
// logged).
// onFail, when set, runs in a subtest that failed (to log a server's
// log, say).
func RunAll(t *testing.T, name string, s Setup, o Options, handover bool, onFail func(t *testing.T)) {
	rows := []string{Header}
	for _, f := range Faults {
		t.Run(f.String(), func(t *testing.T) {
			r := Run(t, s, f, o)
			t.Log(r.Describe())
			rows = append(rows, r.Row(o.Faults))
			if r.Lost != 0 {
				t.Errorf("%d messages lost", r.Lost)
			}
			if r.Duplicated != 0 {
				t.Errorf("%d messages handed to the application twice", r.Duplicated)
			}
			if r.Resumed != o.Faults {
				t.Errorf("%d resumptions, want one per fault (%d)", r.Resumed, o.Faults)
			}
			switch {
			case handover && r.Repeats+r.Reordered+r.Other > 0:
				t.Logf("%s handover fault: %d delivered twice by the server (dropped by im), %d reordered, the other session resumed %d times %q",
					name, r.Repeats, r.Reordered, r.Other, r.OtherCauses)
			case !handover:
				if r.Repeats != 0 || r.Reordered != 0 || r.Other != 0 {
					t.Errorf("%d delivered twice by the server (dropped by im), %d reordered, the other session resumed %d times %q",
						r.Repeats, r.Reordered, r.Other, r.OtherCauses)
				}
			}
			if t.Failed() && onFail != nil {
				onFail(t)
			}
		})
	}
	t.Logf("%s:\n%s", name, strings.Join(rows, "\n"))
}
