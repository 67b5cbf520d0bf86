package audit

import (
	"math"
	"sort"
)

// The interval math of the provider statistics: a Wilson score interval for
// a proportion, an exact (Garwood) interval for a Poisson count and so for a
// ratio of observed to expected counts, the normal quantile of a confidence
// level, and percentiles of the peers' values.

// normalQuantile returns the p-quantile of the standard normal distribution,
// for 0 < p < 1: normalQuantile(0.975) ≈ 1.959964.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// twoSidedZ returns the normal quantile of a two-sided interval at the
// confidence level: 1.96 for 0.95.
func twoSidedZ(confidence float64) float64 {
	return normalQuantile(1 - (1-confidence)/2)
}

// Interval is an estimate's confidence interval.
type Interval struct {
	Lower, Upper float64
}

// wilson returns the Wilson score interval of the proportion x/n at the
// confidence level. It stays inside [0, 1] and behaves at x = 0 and x = n,
// where the plain normal interval collapses to a point. n = 0 gives [0, 1].
func wilson(x, n int64, confidence float64) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	z := twoSidedZ(confidence)
	nf, p := float64(n), float64(x)/float64(n)
	z2 := z * z
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	iv := Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
	if x == 0 {
		iv.Lower = 0
	}
	if x == n {
		iv.Upper = 1
	}
	return iv
}

// poisson returns the exact (Garwood) interval of the mean of a Poisson
// count x at the confidence level, from the relation between the Poisson
// and gamma (chi-square) distributions: the lower bound is the α/2 quantile
// of Gamma(x, 1), the upper the 1−α/2 quantile of Gamma(x+1, 1). x = 10 at
// 95% gives [4.7954, 18.3904]. Counts above 1,000 use Byar's approximation,
// which there agrees with the exact bounds to about six digits.
func poisson(x int64, confidence float64) Interval {
	if x < 0 {
		x = 0
	}
	alpha := 1 - confidence
	if x > 1000 {
		z := twoSidedZ(confidence)
		xf, x1 := float64(x), float64(x+1)
		lo := xf * math.Pow(1-1/(9*xf)-z/(3*math.Sqrt(xf)), 3)
		hi := x1 * math.Pow(1-1/(9*x1)+z/(3*math.Sqrt(x1)), 3)
		return Interval{lo, hi}
	}
	var iv Interval
	if x > 0 {
		iv.Lower = gammaQuantile(float64(x), alpha/2)
	}
	iv.Upper = gammaQuantile(float64(x+1), 1-alpha/2)
	return iv
}

// rateRatio returns the interval of observed/expected when observed is a
// Poisson count and expected is known (the peers' rates applied to the
// provider's own mix): the Poisson interval of observed, divided by expected.
func rateRatio(observed int64, expected, confidence float64) Interval {
	if expected <= 0 {
		return Interval{0, math.Inf(1)}
	}
	iv := poisson(observed, confidence)
	return Interval{iv.Lower / expected, iv.Upper / expected}
}

// gammaQuantile returns the x with P(a, x) = p, where P is the regularized
// lower incomplete gamma function (the distribution function of Gamma(a, 1)),
// by bisection: P is increasing in x, and 200 halvings of a bracket reach
// the last bit of a float64.
func gammaQuantile(a, p float64) float64 {
	lo, hi := 0.0, math.Max(1, a)
	for gammaP(a, hi) < p {
		lo, hi = hi, hi*2
	}
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if gammaP(a, mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// gammaP is the regularized lower incomplete gamma function P(a, x): its
// power series below x = a+1, one minus the continued fraction of Q(a, x)
// above (the classical split; each converges fast on its side).
func gammaP(a, x float64) float64 {
	if x <= 0 {
		return 0
	}
	lga, _ := math.Lgamma(a)
	front := math.Exp(-x + a*math.Log(x) - lga)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 100000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return sum * front
	}
	// Lentz's method for the continued fraction of Q(a, x).
	const tiny = 1e-300
	b := x + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i < 100000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return 1 - front*h
}

// percentile returns the q-quantile (0..1) of values by linear interpolation
// between order statistics, as PostgreSQL's percentile_cont does; NaN for no
// values. values is not modified.
func percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	pos := q * float64(len(v)-1)
	i := int(math.Floor(pos))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}
