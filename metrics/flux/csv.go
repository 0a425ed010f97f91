package flux

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// table is one table of an annotated CSV answer: its group key columns as
// labels and its (_time, _value) points, nulls left out.
type table struct {
	key    string
	labels map[string]string
	times  []time.Time
	values []float64
}

// queryError is an error InfluxDB reported inside a 200 answer (a table
// with an "error" column: the query failed while it ran).
type queryError struct{ msg string }

func (e *queryError) Error() string { return "influxdb: " + e.msg }

// skipColumns are the columns that are not labels.
var skipColumns = map[string]bool{"": true, "result": true, "table": true, "_start": true, "_stop": true, "_time": true, "_value": true}

// readCSV reads InfluxDB's annotated CSV (annotations datatype, group and
// default, with a header row): each block of annotation rows and a
// header is followed by the rows of one or more tables, told apart by
// the result and table columns. A table's labels are its group key's
// columns (#group true) but result, table, _start and _stop (every other
// column of its first row when the answer has no #group); an empty cell
// reads as its column's #default. A table with an "error" column is the
// error the query ended in (*queryError).
func readCSV(r io.Reader) ([]table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		tables    []table
		index     = map[string]int{}
		header    []string
		datatypes []string
		group     []string
		defaults  []string
		expect    bool // the next row is a header
		timeCol   = -1
		valueCol  = -1
		tableCol  = -1
		resultCol = -1
		errorCol  = -1
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) > 0 && strings.HasPrefix(rec[0], "#") {
			switch rec[0] {
			case "#datatype":
				datatypes = append(datatypes[:0], rec...)
			case "#group":
				group = append(group[:0], rec...)
			case "#default":
				defaults = append(defaults[:0], rec...)
			}
			expect = true
			continue
		}
		if expect || header == nil {
			header = append(header[:0], rec...)
			expect = false
			timeCol, valueCol, tableCol, resultCol, errorCol = -1, -1, -1, -1, -1
			for i, c := range header {
				switch c {
				case "_time":
					timeCol = i
				case "_value":
					valueCol = i
				case "table":
					tableCol = i
				case "result":
					resultCol = i
				case "error":
					errorCol = i
				}
			}
			continue
		}
		if errorCol >= 0 && errorCol < len(rec) {
			return nil, &queryError{msg: rec[errorCol]}
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("a row has %d fields under a header of %d", len(rec), len(header))
		}
		for c := 1; c < len(rec) && c < len(defaults); c++ {
			if rec[c] == "" {
				rec[c] = defaults[c]
			}
		}
		if timeCol < 0 || valueCol < 0 {
			return nil, fmt.Errorf("the tables have no _time and _value columns (columns %s): end the query in a table of _time and _value, such as aggregateWindow's", strings.Join(header[1:], ", "))
		}
		if valueCol < len(datatypes) {
			switch datatypes[valueCol] {
			case "double", "long", "unsignedLong", "":
			default:
				return nil, fmt.Errorf("_value is of type %s, not a number", datatypes[valueCol])
			}
		}
		key := ""
		if resultCol >= 0 {
			key = rec[resultCol]
		}
		if tableCol >= 0 {
			key += "\x00" + rec[tableCol]
		}
		i, ok := index[key]
		if !ok {
			t := table{key: key, labels: map[string]string{}}
			for c, name := range header {
				if !skipColumns[name] && (len(group) == 0 || (c < len(group) && group[c] == "true")) {
					t.labels[name] = rec[c]
				}
			}
			i = len(tables)
			index[key] = i
			tables = append(tables, t)
		}
		if rec[valueCol] == "" {
			continue
		}
		v, err := strconv.ParseFloat(rec[valueCol], 64)
		if err != nil || math.IsInf(v, 0) {
			return nil, fmt.Errorf("_value %q is not a number", rec[valueCol])
		}
		t, err := time.Parse(time.RFC3339Nano, rec[timeCol])
		if err != nil {
			return nil, fmt.Errorf("_time %q is not an RFC 3339 time", rec[timeCol])
		}
		tables[i].times = append(tables[i].times, t.UTC())
		tables[i].values = append(tables[i].values, v)
	}
	return tables, nil
}

// toSeries turns the tables into series, their points in time order.
func toSeries(signal string, tables []table) ([]metrics.Series, error) {
	out := make([]metrics.Series, 0, len(tables))
	for _, t := range tables {
		idx := make([]int, len(t.times))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return t.times[idx[a]].Before(t.times[idx[b]]) })
		s := metrics.Series{Signal: signal, Labels: t.labels}
		for n, i := range idx {
			if n > 0 && t.times[i].Equal(s.Times[len(s.Times)-1]) {
				return nil, errors.New("a table has two rows at " + t.times[i].Format(time.RFC3339Nano))
			}
			s.Times = append(s.Times, t.times[i])
			s.Values = append(s.Values, t.values[i])
		}
		out = append(out, s)
	}
	return out, nil
}
