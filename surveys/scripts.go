package surveys

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed scripts/*.yaml
var scriptFiles embed.FS

var shipped struct {
	once sync.Once
	defs map[string]*Definition
	err  error
}

// Shipped returns the scripts Huifang ships with, by name: install-verification,
// repair-parts-verification and satisfaction. They are parsed and validated
// once; a shipped script that did not validate would be a build defect, so
// the error is returned, never ignored.
func Shipped() (map[string]*Definition, error) {
	shipped.once.Do(func() {
		shipped.defs = map[string]*Definition{}
		entries, err := fs.ReadDir(scriptFiles, "scripts")
		if err != nil {
			shipped.err = err
			return
		}
		for _, e := range entries {
			name := path.Join("scripts", e.Name())
			src, err := fs.ReadFile(scriptFiles, name)
			if err != nil {
				shipped.err = err
				return
			}
			d, err := ParseDefinition(name, src)
			if err != nil {
				shipped.err = fmt.Errorf("shipped script %s: %w", name, err)
				return
			}
			shipped.defs[d.Name] = d
		}
	})
	return shipped.defs, shipped.err
}

// ShippedScript returns one shipped script by name.
func ShippedScript(name string) (*Definition, error) {
	defs, err := Shipped()
	if err != nil {
		return nil, err
	}
	d, ok := defs[name]
	if !ok {
		names := make([]string, 0, len(defs))
		for n := range defs {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no shipped script %q (shipped: %s): %w", name, strings.Join(names, ", "), ErrNotFound)
	}
	return d, nil
}
