package api

import (
	"net/http"
	"slices"

	"github.com/verdict-aca/verdict/kayenta"
)

// canaryConfigIndexEntry is one entry of Kayenta's GET /canaryConfig list,
// with the keys Kayenta's storage services write for a canary config.
type canaryConfigIndexEntry struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	UpdatedTimestamp    int64    `json:"updatedTimestamp"`
	UpdatedTimestampIso string   `json:"updatedTimestampIso"`
	Applications        []string `json:"applications"`
}

// kayentaConfigIndex is GET /canaryConfig[?application=A&configurationAccountName=N]:
// the stored Verdict configs as Kayenta's canary config index, the id and
// the name both being the config's name (the id is what POST /canary/{id}
// takes). Argo Rollouts' kayenta provider calls it before every
// measurement to turn canaryConfigName into an id, and fails the
// measurement on anything but 200 with this list.
//
// Verdict configs belong to no application: each is listed under the
// applications the request names (all of them when none is named), so an
// application filter never hides a config. configurationAccountName is
// accepted and ignored (there are no accounts).
func (s *Server) kayentaConfigIndex(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListConfigs(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	apps := r.URL.Query()["application"]
	apps = slices.DeleteFunc(slices.Clone(apps), func(a string) bool { return a == "" })
	if apps == nil {
		apps = []string{}
	}
	out := make([]canaryConfigIndexEntry, 0, len(list))
	for _, c := range list {
		out = append(out, canaryConfigIndexEntry{
			ID: c.Name, Name: c.Name,
			UpdatedTimestamp: c.UpdatedAt.UnixMilli(), UpdatedTimestampIso: kayenta.FormatInstant(c.UpdatedAt),
			Applications: apps,
		})
	}
	writeJSON(w, http.StatusOK, out)
}
