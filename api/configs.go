package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/analysis/runner"
	"github.com/verdict-aca/verdict/analysis/store"
)

// configCache keeps parsed stored configs by name and version: an entry is
// replaced on every PUT (and by any read of a newer version) and dropped on
// DELETE; a miss reads the store. Every cached config has its Name set.
type configCache struct {
	mu     sync.RWMutex
	byName map[string]cachedConfig
}

type cachedConfig struct {
	version int64
	cfg     *analysis.Config
}

func newConfigCache() *configCache { return &configCache{byName: map[string]cachedConfig{}} }

func (c *configCache) get(name string) (*analysis.Config, bool) {
	c.mu.RLock()
	e, ok := c.byName[name]
	c.mu.RUnlock()
	return e.cfg, ok
}

// getVersion is the cached config name at exactly version.
func (c *configCache) getVersion(name string, version int64) (*analysis.Config, bool) {
	c.mu.RLock()
	e, ok := c.byName[name]
	c.mu.RUnlock()
	return e.cfg, ok && e.version == version
}

// keepOnly drops the entries of configs not in names (deleted elsewhere).
func (c *configCache) keepOnly(names map[string]bool) {
	c.mu.Lock()
	for name := range c.byName {
		if !names[name] {
			delete(c.byName, name)
		}
	}
	c.mu.Unlock()
}

func (c *configCache) put(name string, version int64, cfg *analysis.Config) {
	c.mu.Lock()
	if e, ok := c.byName[name]; !ok || e.version <= version {
		c.byName[name] = cachedConfig{version: version, cfg: cfg}
	}
	c.mu.Unlock()
}

func (c *configCache) drop(name string) {
	c.mu.Lock()
	delete(c.byName, name)
	c.mu.Unlock()
}

// configName is what a stored config may be called (it appears in URLs
// and metric labels).
var configName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`) })

func checkName(name string) error {
	if !configName().MatchString(name) {
		return fmt.Errorf("name: %q is not a config name (letters, digits, '.', '_', '-'; at most 128)", name)
	}
	return nil
}

// storedConfig returns the parsed stored config name.
func (s *Server) storedConfig(r *http.Request, name string) (*analysis.Config, error) {
	if cfg, ok := s.configs.get(name); ok {
		return cfg, nil
	}
	return s.loadConfig(r.Context(), name)
}

func (s *Server) loadConfig(ctx context.Context, name string) (*analysis.Config, error) {
	cfg, _, err := s.storedConfigText(ctx, name)
	return cfg, err
}

// storedConfigText reads the stored config name: its text and its parsed
// form at that version (parsed once per version, then cached), one the
// version of the other.
func (s *Server) storedConfigText(ctx context.Context, name string) (*analysis.Config, []byte, error) {
	rec, err := s.store.GetConfig(ctx, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, notFoundError{fmt.Sprintf("configName: no config named %q", name)}
		}
		return nil, nil, err
	}
	if cfg, ok := s.configs.getVersion(name, rec.Version); ok {
		return cfg, rec.Data, nil
	}
	cfg, err := runner.ParseStoredConfig(name, rec.Data)
	if err != nil {
		return nil, nil, fmt.Errorf("the stored config %s cannot be used: %w", name, err)
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	s.configs.put(name, rec.Version, cfg)
	return cfg, rec.Data, nil
}

// checkNewConfig refuses, in a config that reaches the server (PUT, an
// inline config, a Kayenta canaryConfig, --config-dir), what only the
// operator may decide: sources, their URLs, credentials, files and TLS
// (analysis.Config.CheckNoSources), and a signal naming a source the
// server does not have.
func checkNewConfig(cfg *analysis.Config, sources analysis.SourceSet) error {
	if err := cfg.CheckNoSources(); err != nil {
		return err
	}
	return cfg.CheckSourceNames(sources)
}

// storedConfigs reads stored configs for the runner's schedule firings,
// through the server's cache.
type storedConfigs struct{ s *Server }

func (c storedConfigs) StoredConfig(ctx context.Context, name string) (*analysis.Config, []byte, error) {
	return c.s.storedConfigText(ctx, name)
}

// statusOf maps store and config errors to HTTP statuses.
func statusOf(err error) int {
	var ce *analysis.ConfigError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	case errors.As(err, &ce):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// configInfo describes a stored config in answers.
type configInfo struct {
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	Signals   int       `json:"signals,omitempty"`
	Config    string    `json:"config,omitempty"`
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := checkName(name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.Limits.MaxBody))
	if err != nil {
		s.badJSON(w, err)
		return
	}
	cfg, err := analysis.ParseConfig(name, data)
	if err == nil {
		err = checkNewConfig(cfg, s.opt.Sources)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if cfg.Name != "" && cfg.Name != name {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("name: the config says %q but is stored as %q; make them equal or leave name out", cfg.Name, name))
		return
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	rec, err := s.store.PutConfig(r.Context(), name, data)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.configs.put(name, rec.Version, cfg)
	s.configsChanged()
	writeJSON(w, http.StatusOK, configInfo{Name: name, Version: rec.Version, UpdatedAt: rec.UpdatedAt, Signals: len(cfg.Signals)})
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rec, err := s.store.GetConfig(r.Context(), name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no config named %q", name))
			return
		}
		s.internalError(w, r, err)
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "yaml") {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(rec.Data)
		return
	}
	writeJSON(w, http.StatusOK, configInfo{Name: rec.Name, Version: rec.Version, UpdatedAt: rec.UpdatedAt, Config: string(rec.Data)})
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.store.DeleteConfig(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no config named %q", name))
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.configs.drop(name)
	s.metrics.ForgetConfig(name)
	s.configsChanged()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listConfigs(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListConfigs(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := make([]configInfo, 0, len(list))
	for _, c := range list {
		out = append(out, configInfo{Name: c.Name, Version: c.Version, UpdatedAt: c.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"configs": out})
}

// LoadConfigDir stores every *.yaml, *.yml and *.json config of dir under
// its config name (or file name without extension), validating each; the
// first invalid file stops the load with its ConfigError.
func (s *Server) LoadConfigDir(ctx context.Context, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the config directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		cfg, err := analysis.ParseConfig(e.Name(), data)
		if err == nil {
			err = checkNewConfig(cfg, s.opt.Sources)
		}
		if err != nil {
			return nil, err
		}
		name := cfg.Name
		if name == "" {
			name = strings.TrimSuffix(e.Name(), ext)
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cfg.Name = name
		// An unchanged file keeps its stored version across restarts.
		rec, err := s.store.GetConfig(ctx, name)
		if err != nil || !bytes.Equal(rec.Data, data) {
			if rec, err = s.store.PutConfig(ctx, name, data); err != nil {
				return nil, err
			}
		}
		s.configs.put(name, rec.Version, cfg)
		names = append(names, name)
	}
	return names, nil
}

// Configs lists the stored configs, parsed (for the scheduler, which
// reloads at every config PUT and DELETE): a config whose version is
// cached is not parsed again, so a reload parses only the configs that
// changed. A stored config that no longer parses is logged and left out.
// The returned configs are shared: callers must not change them.
func (s *Server) Configs(ctx context.Context) ([]*analysis.Config, error) {
	list, err := s.store.ListConfigs(ctx)
	if err != nil {
		return nil, err
	}
	var out []*analysis.Config
	names := make(map[string]bool, len(list))
	for _, rec := range list {
		names[rec.Name] = true
		if cfg, ok := s.configs.getVersion(rec.Name, rec.Version); ok {
			out = append(out, cfg)
			continue
		}
		cfg, err := runner.ParseStoredConfig(rec.Name, rec.Data)
		if err != nil {
			s.log.Error("stored config cannot be used", "config", rec.Name, "err", err)
			continue
		}
		if cfg.Name == "" {
			cfg.Name = rec.Name
		}
		s.configs.put(rec.Name, rec.Version, cfg)
		out = append(out, cfg)
	}
	s.configs.keepOnly(names)
	return out, nil
}

// notFoundError is a missing config or analysis, with its message.
type notFoundError struct{ msg string }

func (e notFoundError) Error() string        { return e.msg }
func (e notFoundError) Is(target error) bool { return target == store.ErrNotFound }

func (s *Server) configsChanged() {
	if s.opt.ConfigsChanged != nil {
		s.opt.ConfigsChanged()
	}
}
