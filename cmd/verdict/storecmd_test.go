package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/analysis/store"
)

// TestStoreCommands runs verdict store stats and vacuum on a SQLite store
// with analyses, some deleted: stats counts them and shows the free room,
// vacuum gives it back; a missing file or a PostgreSQL DSN is a usage
// error that creates nothing.
func TestStoreCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "verdict.db")
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	report := []byte(strings.Repeat(`{"signal":"p99","verdict":"pass"},`, 4000))
	for i := range 12 {
		id := fmt.Sprintf("a%02d", i)
		if err := st.CreateAnalysis(ctx, &store.Analysis{ID: id, Config: []byte("name: shop\n")}); err != nil {
			t.Fatal(err)
		}
		// Reports that do not compress, so the deleted ones leave pages free.
		rep := append([]byte(fmt.Sprintf("%x", time.Now().UnixNano()*int64(i+1))), report...)
		for j := range rep {
			rep[j] ^= byte(j * (i + 3) % 251)
		}
		if err := st.FinishAnalysis(ctx, id, store.Outcome{Status: store.Finished, Verdict: "pass", Report: rep}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.DeleteFinished(ctx, time.Now().Add(time.Hour), 8); err != nil || n != 8 {
		t.Fatalf("DeleteFinished: %d, %v", n, err)
	}
	st.Close()

	code, out, errOut := invoke(t, "store", "stats", "--db", "sqlite:"+path)
	if code != 0 || errOut != "" {
		t.Fatalf("store stats: exit %d, %s", code, errOut)
	}
	for _, want := range []string{"store           " + path + " (SQLite, schema version ", "\nanalyses        4\n", "\nconfigs         0\n", "\nper analysis    "} {
		if !strings.Contains(out, want) {
			t.Errorf("store stats printed\n%s\nwant %q", out, want)
		}
	}
	if strings.Contains(out, "\nfree            0 B") {
		t.Errorf("store stats shows no free room after 8 of 12 analyses were deleted:\n%s", out)
	}
	before, _ := os.Stat(path)
	code, out, errOut = invoke(t, "store", "vacuum", "--db", "sqlite:"+path)
	if code != 0 || !strings.HasPrefix(out, "vacuumed "+path+": ") {
		t.Fatalf("store vacuum: exit %d, %q, %s", code, out, errOut)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size() {
		t.Errorf("vacuum left the file at %d bytes (was %d)", after.Size(), before.Size())
	}
	_, out, _ = invoke(t, "store", "stats", "--db", path)
	if !strings.Contains(out, "\nanalyses        4\n") || !strings.Contains(out, "\nfree            0 B") {
		t.Errorf("store stats after vacuum:\n%s", out)
	}

	missing := filepath.Join(dir, "typo.db")
	for _, tc := range []struct{ db, want string }{
		{"sqlite:" + missing, "verdict: --db: there is no store at " + missing + "\n"},
		{"postgres://verdict@127.0.0.1:1/verdict", "verdict: --db: verdict store stats works on SQLite stores (sqlite:PATH) only\n"},
		{"sqlite:", "verdict: --db: the SQLite store needs a file path (sqlite:PATH)\n"},
	} {
		code, out, errOut := invoke(t, "store", "stats", "--db", tc.db)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, tc.want) {
			t.Errorf("store stats --db %s: exit %d, %q, %q; want 64 and %q", tc.db, code, out, errOut, tc.want)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("store stats created the store it did not find")
	}
}
