package file

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/verdict-aca/verdict/internal/benchcpu"
)

// BenchmarkParseSignals parses the same 3,000 signals of 360 points (an
// hour at 10 s steps) as a one-line JSON file, as a JSON file of one
// signal a line, and as CSV, through Parse (reading included): loading
// must cost about the same in either format, and grow linearly with the
// number of signals. It also reports the process' CPU time per parse
// (cpu-ns/op), steadier than wall time on a busy machine.
func BenchmarkParseSignals(b *testing.B) {
	const signals, points = 3000, 360
	var oneLine, lines, csv strings.Builder
	oneLine.WriteString("{")
	lines.WriteString("{\n")
	csv.WriteString("signal,value\n")
	for i := range signals {
		if i > 0 {
			oneLine.WriteString(",")
			lines.WriteString(",\n")
		}
		var values strings.Builder
		for j := range points {
			if j > 0 {
				values.WriteString(",")
			}
			v := fmt.Sprintf("%d.%03d", 100+(i*31+j*17)%200, (i*7+j*13)%1000)
			values.WriteString(v)
			fmt.Fprintf(&csv, "signal_%d,%s\n", i, v)
		}
		fmt.Fprintf(&oneLine, "\"signal_%d\":[%s]", i, values.String())
		fmt.Fprintf(&lines, "  \"signal_%d\": [%s]", i, values.String())
	}
	oneLine.WriteString("}\n")
	lines.WriteString("\n}\n")
	for _, f := range []struct{ name, file, data string }{
		{"json-one-line", "b.json", oneLine.String()},
		{"json-one-signal-a-line", "b.json", lines.String()},
		{"csv", "b.csv", csv.String()},
	} {
		data := []byte(f.data)
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			cpu := benchcpu.Now(b)
			for b.Loop() {
				series, err := Parse(f.file, bytes.NewReader(data))
				if err != nil || len(series) != signals {
					b.Fatalf("%d series, %v", len(series), err)
				}
			}
			benchcpu.Report(b, cpu)
		})
	}
}
