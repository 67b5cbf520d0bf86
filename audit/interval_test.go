package audit

import (
	"math"
	"testing"
)

func ivNear(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// The normal quantiles every statistics text prints.
func TestNormalQuantile(t *testing.T) {
	for _, c := range []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959964},
		{0.95, 1.644854},
		{0.995, 2.575829},
		{0.025, -1.959964},
	} {
		if got := normalQuantile(c.p); !ivNear(got, c.want, 5e-6) {
			t.Errorf("normalQuantile(%v) = %.6f, want %.6f", c.p, got, c.want)
		}
	}
	if got := twoSidedZ(0.90); !ivNear(got, 1.644854, 5e-6) {
		t.Errorf("twoSidedZ(0.90) = %.6f, want 1.644854", got)
	}
}

// Wilson intervals from the published tables (Newcombe 1998, Table I;
// Brown, Cai and DasGupta 2001).
func TestWilson(t *testing.T) {
	for _, c := range []struct {
		x, n   int64
		conf   float64
		lo, hi float64
	}{
		{3, 10, 0.95, 0.1078, 0.6032},
		{0, 10, 0.95, 0, 0.2775},
		{10, 10, 0.95, 0.7225, 1},
		{81, 263, 0.95, 0.2553, 0.3662},
		{15, 148, 0.95, 0.0624, 0.1605},
		{1, 29, 0.95, 0.0061, 0.1718},
		{0, 0, 0.95, 0, 1},
	} {
		iv := wilson(c.x, c.n, c.conf)
		if !ivNear(iv.Lower, c.lo, 5e-5) || !ivNear(iv.Upper, c.hi, 5e-5) {
			t.Errorf("wilson(%d/%d, %v) = [%.4f, %.4f], want [%.4f, %.4f]", c.x, c.n, c.conf, iv.Lower, iv.Upper, c.lo, c.hi)
		}
	}
	// A wider confidence gives a wider interval.
	a, b := wilson(3, 10, 0.95), wilson(3, 10, 0.99)
	if !(b.Lower < a.Lower && b.Upper > a.Upper) {
		t.Errorf("99%% interval %v is not wider than the 95%% one %v", b, a)
	}
}

// Exact Poisson intervals (Garwood 1936), as published for small counts and,
// for 20 and 100, as found by solving the Poisson distribution function
// directly; and Byar's approximation above 1,000 against the exact bounds.
func TestPoisson(t *testing.T) {
	for _, c := range []struct {
		x      int64
		conf   float64
		lo, hi float64
	}{
		{0, 0.95, 0, 3.6889},
		{1, 0.95, 0.0253, 5.5716},
		{2, 0.95, 0.2422, 7.2247},
		{10, 0.95, 4.7954, 18.3904},
		{20, 0.95, 12.2165, 30.8884},
		{100, 0.95, 81.3640, 121.6268},
		{10, 0.90, 5.4254, 16.9622},
	} {
		iv := poisson(c.x, c.conf)
		if !ivNear(iv.Lower, c.lo, 5e-4) || !ivNear(iv.Upper, c.hi, 5e-4) {
			t.Errorf("poisson(%d, %v) = [%.4f, %.4f], want [%.4f, %.4f]", c.x, c.conf, iv.Lower, iv.Upper, c.lo, c.hi)
		}
	}
	// Byar's formula just above the switch agrees with the exact bounds just
	// below it, scaled.
	exact := Interval{gammaQuantile(1001, 0.025), gammaQuantile(1002, 0.975)}
	byar := poisson(1001, 0.95)
	if !ivNear(byar.Lower, exact.Lower, 0.01) || !ivNear(byar.Upper, exact.Upper, 0.01) {
		t.Errorf("Byar's interval of 1001 %v, exact %v", byar, exact)
	}
	// The ratio interval divides by the expected count.
	r := rateRatio(10, 5, 0.95)
	if !ivNear(r.Lower, 4.7954/5, 1e-4) || !ivNear(r.Upper, 18.3904/5, 1e-4) {
		t.Errorf("rateRatio(10, 5) = %v, want [0.9591, 3.6781]", r)
	}
	if r := rateRatio(3, 0, 0.95); r.Lower != 0 || !math.IsInf(r.Upper, 1) {
		t.Errorf("rateRatio with nothing expected = %v, want [0, +Inf]", r)
	}
}

func TestPercentile(t *testing.T) {
	v := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.9, 4.6}, {0.95, 4.8}, {1, 5}} {
		if got := percentile(v, c.q); !ivNear(got, c.want, 1e-12) {
			t.Errorf("percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if v[0] != 5 {
		t.Error("percentile sorted its argument")
	}
	if !math.IsNaN(percentile(nil, 0.5)) {
		t.Error("percentile of nothing is not NaN")
	}
}
