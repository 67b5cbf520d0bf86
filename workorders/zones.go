package workorders

import (
	"sync"
	"time"
)

// zones caches time.LoadLocation, which reads the zone database from disk on
// every call; intake looks up the same few zones for a million rows.
type zones struct {
	mu sync.RWMutex
	m  map[string]*time.Location
}

func newZoneCache() *zones { return &zones{m: map[string]*time.Location{}} }

func (z *zones) load(name string) (*time.Location, error) {
	z.mu.RLock()
	loc, ok := z.m[name]
	z.mu.RUnlock()
	if ok {
		return loc, nil
	}
	if name == "" || name == "Local" {
		return nil, errString("not an IANA zone name")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	z.mu.Lock()
	z.m[name] = loc
	z.mu.Unlock()
	return loc, nil
}
