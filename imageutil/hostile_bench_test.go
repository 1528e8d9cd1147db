package imageutil

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment of TestHostileChild, set by BenchmarkHostile.
const (
	hostileFileEnv = "IMAGEUTIL_HOSTILE_FILE"
	hostileModeEnv = "IMAGEUTIL_HOSTILE_MODE"
)

// Modes of TestHostileChild.
const (
	modeDecode   = "Decode"           // DecodeBytes, default limits
	modeBudget   = "Decode-budget4MP" // DecodeBytes with WithPixelBudget(4_000_000)
	modeBaseline = "png.Decode+ToRGB" // the decoder's image plus a full-size copy
)

// vmHWM returns the process's peak resident set size (VmHWM) in KiB.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// TestHostileChild decodes one file in a fresh process and prints the
// outcome, the wall time and the peak RSS before and after: it is run by
// BenchmarkHostile and skips otherwise.
func TestHostileChild(t *testing.T) {
	path := os.Getenv(hostileFileEnv)
	if path == "" {
		t.Skip("run by BenchmarkHostile")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	base := vmHWM()
	start := time.Now()
	var outcome string
	switch mode := os.Getenv(hostileModeEnv); mode {
	case modeBaseline:
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			outcome = "error"
			break
		}
		m := ToRGB(img)
		outcome = fmt.Sprintf("%dx%d", m.Rect.Dx(), m.Rect.Dy())
	case modeDecode, modeBudget:
		var opts []Option
		if mode == modeBudget {
			opts = append(opts, WithPixelBudget(4_000_000))
		}
		m, err := DecodeBytes(data, opts...)
		switch {
		case err != nil:
			outcome = strings.ReplaceAll(strings.SplitN(err.Error(), ":", 2)[1], " ", "_")
			outcome = strings.Trim(outcome, "_")
			if i := strings.Index(outcome, ":"); i > 0 {
				outcome = outcome[:i]
			}
		default:
			outcome = fmt.Sprintf("%dx%d/%d", m.Bounds().Dx(), m.Bounds().Dy(), m.Reduction)
		}
	default:
		t.Fatalf("mode %q", mode)
	}
	elapsed := time.Since(start)
	fmt.Printf("HOSTILE %s %d %d %d\n", outcome, elapsed.Microseconds(), base, vmHWM())
}

// BenchmarkHostile decodes every case of the hostile corpus in a fresh child
// process (so that peak RSS is the decode's own) with default limits, and
// with a 4-megapixel budget; for the PNG bombs also as image/png.Decode
// followed by ToRGB, the baseline a decoder's image plus one full-size
// copy costs. Metrics: ms per decode, peak-RSS-MB (VmHWM of the child, which
// includes the test binary and the input) and RSS-above-input-MB; at the end
// a markdown table of every case (outcome / ms / peak RSS per mode). Run with
// -benchtime 1x:
//
//	go test -run '^$' -bench Hostile -benchtime 1x ./imageutil/
func BenchmarkHostile(b *testing.B) {
	dir := b.TempDir()
	// cells[case][mode] is "outcome / ms / peak MB", for the markdown
	// table printed at the end.
	cells := map[string]map[string]string{}
	var names []string
	defer func() {
		if len(names) == 0 {
			return
		}
		fmt.Printf("\n| case | %s (baseline) | %s | %s |\n| --- | --- | --- | --- |\n", modeBaseline, modeDecode, modeBudget)
		for _, n := range names {
			row := cells[n]
			cell := func(m string) string {
				if v, ok := row[m]; ok {
					return v
				}
				return "—"
			}
			fmt.Printf("| %s | %s | %s | %s |\n", n, cell(modeBaseline), cell(modeDecode), cell(modeBudget))
		}
	}()
	for _, c := range hostileCorpus() {
		if strings.HasPrefix(c.name, "bit-flips/") && !strings.HasSuffix(c.name, "/0") {
			continue // one representative per format
		}
		path := filepath.Join(dir, strings.ReplaceAll(c.name, "/", "_"))
		if err := os.WriteFile(path, c.make(b), 0o600); err != nil {
			b.Fatal(err)
		}
		modes := []string{modeDecode, modeBudget}
		if strings.HasPrefix(c.name, "png-bomb/") && c.want == nil {
			modes = append([]string{modeBaseline}, modes...)
		}
		for _, mode := range modes {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				var ms, peak, above float64
				var outcome string
				for range b.N {
					cmd := exec.Command(os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1")
					cmd.Env = append(os.Environ(), hostileFileEnv+"="+path, hostileModeEnv+"="+mode)
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("child: %v\n%s", err, out)
					}
					var line string
					for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
						if strings.HasPrefix(sc.Text(), "HOSTILE ") {
							line = sc.Text()
						}
					}
					var us, base, hwm int64
					if _, err := fmt.Sscanf(line, "HOSTILE %s %d %d %d", &outcome, &us, &base, &hwm); err != nil {
						b.Fatalf("child output %q: %v", out, err)
					}
					ms += float64(us) / 1000
					peak = max(peak, float64(hwm)/1024)
					above = max(above, float64(hwm-base)/1024)
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(ms/float64(b.N), "ms")
				b.ReportMetric(peak, "peak-RSS-MB")
				b.ReportMetric(above, "RSS-above-input-MB")
				b.Logf("%s: %s", c.name, outcome)
				if cells[c.name] == nil {
					cells[c.name] = map[string]string{}
					names = append(names, c.name)
				}
				prec := 0
				if ms/float64(b.N) < 10 {
					prec = 2
				}
				cells[c.name][mode] = fmt.Sprintf("%s / %.*f ms / %.0f MB", outcome, prec, ms/float64(b.N), peak)
			})
		}
	}
}

var (
	hostileDir   = flag.String("imageutil.hostile-dir", "", "TestWriteHostileFiles writes the hostile corpus files to this directory")
	hostileMatch = flag.String("imageutil.hostile-match", "", "TestWriteHostileFiles writes only the cases whose name contains this")
)

// TestWriteHostileFiles writes the files of the hostile corpus (those
// whose name contains -imageutil.hostile-match) to -imageutil.hostile-dir,
// named after the case with "/" as "_", for measurements through programs
// (scripts/cli-rss.sh); it skips without the flag.
func TestWriteHostileFiles(t *testing.T) {
	if *hostileDir == "" {
		t.Skip("run with -imageutil.hostile-dir DIR")
	}
	for _, c := range hostileCorpus() {
		if !strings.Contains(c.name, *hostileMatch) {
			continue
		}
		path := filepath.Join(*hostileDir, strings.ReplaceAll(c.name, "/", "_"))
		if err := os.WriteFile(path, c.make(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
