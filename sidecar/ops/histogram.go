package ops

import "slices"

// Histogram counts values (milliseconds) into buckets: Counts[i] holds values
// from Bounds[i-1] up to below Bounds[i], the last count everything from the
// last bound up (symphony.latency_bounds).
type Histogram struct {
	Bounds []float64
	Counts []int64
}

// Merge returns h and o added together.
func (h Histogram) Merge(o Histogram) Histogram {
	if len(h.Counts) == 0 {
		return Histogram{Bounds: o.Bounds, Counts: slices.Clone(o.Counts)}
	}
	out := Histogram{Bounds: h.Bounds, Counts: slices.Clone(h.Counts)}
	for i, c := range o.Counts {
		if i < len(out.Counts) {
			out.Counts[i] += c
		}
	}
	return out
}

// Total is the number of values counted.
func (h Histogram) Total() int64 {
	var n int64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) in milliseconds, interpolating
// within the bucket it falls in; ok is false when nothing was counted. A
// quantile in the open last bucket reads as its lower bound.
func (h Histogram) Quantile(q float64) (ms float64, ok bool) {
	total := h.Total()
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := 0.0
			if i > 0 && i-1 < len(h.Bounds) {
				lo = h.Bounds[i-1]
			}
			if i >= len(h.Bounds) {
				return lo, true
			}
			return lo + (h.Bounds[i]-lo)*(rank-cum)/float64(c), true
		}
		cum += float64(c)
	}
	return h.Bounds[len(h.Bounds)-1], true
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
