package analysis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
)

// TestOpenFluxToken: a flux source sends its tokenFile's token, else
// INFLUX_TOKEN's, as "Authorization: Token ...".
func TestOpenFluxToken(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "text/csv")
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvInfluxToken, "from-env")
	expr := `from(bucket: "b") |> range(start: {{.start}}, stop: {{.end}}) |> filter(fn: (r) => r.track == "{{.track}}")`
	w := metrics.Window{Start: time.Unix(1_700_000_000, 0), End: time.Unix(1_700_003_600, 0), Step: time.Minute}
	for _, tc := range []struct {
		name string
		spec SourceSpec
		want string
	}{
		{"tokenFile", SourceSpec{Name: "flux", Type: TypeFlux, URL: srv.URL, TokenFile: file}, "Token from-file"},
		{"environment", SourceSpec{Name: "flux", Type: TypeFlux, URL: srv.URL}, "Token from-env"},
	} {
		src, err := tc.spec.open()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := src.Fetch(context.Background(), metrics.Query{Signal: "s", Expr: expr}, metrics.Scope{"track": "canary"}, w); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if a := <-got; a != tc.want {
			t.Errorf("%s: Authorization %q, want %q", tc.name, a, tc.want)
		}
	}
}
