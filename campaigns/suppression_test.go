package campaigns_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/huifang/huifang/campaigns"
	"github.com/huifang/huifang/internal/testdb"
)

func TestSuppressionListAddCheckRemove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &campaigns.Suppressions{Pool: testdb.New(t)}
	const phone = "+8613800138000"

	if on, err := s.Has(ctx, phone); err != nil || on {
		t.Fatalf("empty list: Has = %v, %v", on, err)
	}
	added, err := s.Add(ctx, phone, campaigns.ReasonSMSKeyword, "reply 退订", "sms")
	if err != nil || !added {
		t.Fatalf("Add = %v, %v; want newly added", added, err)
	}
	// Again, by another channel: the first entry stands, nothing is logged twice.
	added, err = s.Add(ctx, phone, campaigns.ReasonVoiceKey, "pressed 9", "voice")
	if err != nil || added {
		t.Fatalf("second Add = %v, %v; want already there", added, err)
	}
	if on, _ := s.Has(ctx, phone); !on {
		t.Fatal("number not suppressed after Add")
	}
	var reason string
	var logged int
	s.Pool.QueryRow(ctx, `SELECT reason, (SELECT count(*) FROM audit_log WHERE action = 'suppression.add')
		FROM suppressions WHERE phone_e164 = $1`, phone).Scan(&reason, &logged)
	if reason != "sms_keyword" || logged != 1 {
		t.Fatalf("stored reason %q with %d audit entries; want the first reason, logged once", reason, logged)
	}

	removed, err := s.Remove(ctx, phone, "replied START", "sms")
	if err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if on, _ := s.Has(ctx, phone); on {
		t.Fatal("still suppressed after Remove")
	}
	if removed, _ := s.Remove(ctx, phone, "again", "sms"); removed {
		t.Fatal("removing an absent number reported a removal")
	}
}

func TestSuppressionRefusesWhatIsNotANumberOrReason(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &campaigns.Suppressions{Pool: testdb.New(t)}
	if _, err := s.Add(ctx, "13800138000", campaigns.ReasonManual, "", "ops"); err == nil || !strings.Contains(err.Error(), "suppress") {
		t.Fatalf("a number without +country code was accepted: %v", err)
	}
	if _, err := s.Add(ctx, "+8613800138000", campaigns.Reason("bored"), "", "ops"); err == nil {
		t.Fatal("an unknown reason was accepted")
	}
}

// Many webhooks reporting the same opt-out at once add it exactly once.
func TestConcurrentOptOutsAddOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &campaigns.Suppressions{Pool: testdb.New(t)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	newly := 0
	for range 10 {
		wg.Go(func() {
			added, err := s.Add(ctx, "+14155550100", campaigns.ReasonSMSKeyword, "STOP", "sms")
			if err != nil {
				t.Error(err)
			}
			if added {
				mu.Lock()
				newly++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if newly != 1 {
		t.Fatalf("%d callers were told they added the number, want exactly 1", newly)
	}
}
