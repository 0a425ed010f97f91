package prometheus

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/verdict-aca/verdict/metrics"
)

// clientGolangSeries decodes a 200 answer as Fetch did before decodeMatrix:
// client_golang's v1 API, then convert.
func clientGolangSeries(body string) ([]metrics.Series, []string, []string, error) {
	client, err := api.NewClient(api.Config{Address: "http://127.0.0.1:9"})
	if err != nil {
		return nil, nil, nil, err
	}
	replay := &replayClient{Client: client, resp: &http.Response{StatusCode: http.StatusOK}, body: []byte(body)}
	v, warnings, infos, err := v1.NewAPI(replay).QueryRange(context.Background(), "up", v1.Range{Start: time.Unix(0, 0), End: time.Unix(60, 0), Step: time.Second})
	if err != nil {
		return nil, nil, nil, err
	}
	series, natives, err := convert(metrics.Query{}, "up", v)
	if natives != nil {
		return nil, nil, nil, err
	}
	return series, warnings, infos, err
}

// sameAnswer reports whether decodeMatrix's answer is client_golang's, NaN
// equal to NaN.
func sameAnswer(t *testing.T, body string, got matrixAnswer) {
	t.Helper()
	series, warnings, infos, err := clientGolangSeries(body)
	if err != nil {
		t.Fatalf("decodeMatrix took an answer client_golang refuses (%v):\n%s", err, body)
	}
	if !reflect.DeepEqual(got.warnings, []string(warnings)) && len(got.warnings)+len(warnings) > 0 {
		t.Errorf("warnings %q, client_golang %q", got.warnings, warnings)
	}
	if !reflect.DeepEqual(got.infos, []string(infos)) && len(got.infos)+len(infos) > 0 {
		t.Errorf("infos %q, client_golang %q", got.infos, infos)
	}
	if len(got.series) != len(series) {
		t.Fatalf("%d series, client_golang %d", len(got.series), len(series))
	}
	for i, want := range series {
		g := got.series[i]
		if !reflect.DeepEqual(g.Labels, want.Labels) || !reflect.DeepEqual(g.Times, want.Times) || len(g.Values) != len(want.Values) {
			t.Fatalf("series %d: %+v, client_golang %+v", i, g, want)
		}
		for k, v := range want.Values {
			if math.Float64bits(g.Values[k]) != math.Float64bits(v) {
				t.Errorf("series %d point %d: %v, client_golang %v", i, k, g.Values[k], v)
			}
		}
	}
}

func TestDecodeMatrixAsClientGolang(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"one series", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1748865600,"53.2"],[1748865610,"54"]]}]}}`},
		{"labels and several series", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1,"1"]]},{"metric":{"job":"b"},"values":[[1,"0"],[2,"1e3"]]}]}}`},
		{"no series", `{"status":"success","data":{"resultType":"matrix","result":[]}}`},
		{"a series without values", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[]}]}}`},
		{"special values", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"],[3,"-Inf"],[4,"-0"],[5,"1.7976931348623157e308"]]}]}}`},
		{"fractional times", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.5,"1"],[2.25,"2"],[3.125,"3"],[4.0625,"4"],[0.001,"5"],[0,"6"]]}]}}`},
		{"white space", " {\n \"status\" : \"success\" ,\t\"data\" : { \"resultType\" : \"matrix\" , \"result\" : [ { \"metric\" : { } , \"values\" : [ [ 1 , \"1\" ] ] } ] } }\r\n"},
		{"keys in another order", `{"data":{"result":[{"values":[[1,"1"]],"metric":{"x":"y"}}],"resultType":"matrix"},"status":"success"}`},
		{"warnings and infos", `{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["PromQL warning: \"x\" \u00e9"],"infos":["PromQL info: metric might not be a counter"]}`},
		{"null warnings", `{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decodeMatrix(tc.body)
			if !ok {
				t.Fatalf("decodeMatrix refused a well-formed matrix answer:\n%s", tc.body)
			}
			sameAnswer(t, tc.body, got)
		})
	}
}

// TestDecodeMatrixLeavesTheRestToClientGolang lists answers decodeMatrix
// must not take, either because they are no matrix of numbers (client_golang
// reads them) or because they are not what client_golang accepts (its error
// is the one to report).
func TestDecodeMatrixLeavesTheRestToClientGolang(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"an error", `{"status":"error","errorType":"bad_data","error":"parse error"}`},
		{"a vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{"native histograms", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]]}]}}`},
		{"an escaped label value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"path":"a\"b"},"values":[[1,"1"]]}]}}`},
		{"a non-ASCII label value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"city":"Zürich"},"values":[[1,"1"]]}]}}`},
		{"an unknown key", `{"status":"success","data":{"resultType":"matrix","result":[]},"stats":{}}`},
		{"a repeated key", `{"status":"success","status":"success","data":{"resultType":"matrix","result":[]}}`},
		{"a repeated label", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1","a":"2"},"values":[]}]}}`},
		{"no status", `{"data":{"resultType":"matrix","result":[]}}`},
		{"no result type", `{"status":"success","data":{"result":[]}}`},
		{"a capitalized key", `{"Status":"success","data":{"resultType":"matrix","result":[]}}`},
		{"trailing data", `{"status":"success","data":{"resultType":"matrix","result":[]}} {}`},
		{"cut short", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]`},
		{"a leading zero", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[01,"1"]]}]}}`},
		{"an exponent", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1e3,"1"]]}]}}`},
		{"a negative time", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[-1,"1"]]}]}}`},
		{"a bare fraction point", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.,"1"]]}]}}`},
		{"a number for a value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1]]}]}}`},
		{"a value that is no number", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}`},
		{"three elements in a point", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1","2"]]}]}}`},
		{"null values", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":null}]}}`},
		{"a trailing comma", `{"status":"success","data":{"resultType":"matrix","result":[],}}`},
		{"not JSON", `<html>proxy error</html>`},
		{"empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := decodeMatrix(tc.body); ok {
				t.Errorf("decodeMatrix took it (%d series); client_golang should read it:\n%s", len(got.series), tc.body)
			}
		})
	}
}

// FuzzDecodeMatrix checks that whatever decodeMatrix takes, client_golang
// takes too and reads into the same series.
func FuzzDecodeMatrix(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1748865600.123,"53.2"],[1748865610,"NaN"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]},"warnings":["w"],"infos":[]}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.0625,"-Inf"]]},{"metric":{"x":""},"values":[]}]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if got, ok := decodeMatrix(body); ok {
			sameAnswer(t, body, got)
		}
	})
}

// BenchmarkDecodeMatrix decodes one answer of 361 points (an hour at 10s)
// with decodeMatrix and as client_golang reads it.
func BenchmarkDecodeMatrix(b *testing.B) {
	var body strings.Builder
	body.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`)
	for i := range 361 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `[%d,"%.6g"]`, 1748865600+10*i, 50*math.Exp(float64(i%17)/40))
	}
	body.WriteString(`]}]}}`)
	text := body.String()
	b.Run("decodeMatrix", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, ok := decodeMatrix(text); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			if _, _, _, err := clientGolangSeries(text); err != nil {
				b.Fatal(err)
			}
		}
	})
}
