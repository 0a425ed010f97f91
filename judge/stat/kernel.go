package stat

// chain is one interleaved walk of the two-pointer count: rows [i, i+rows)
// of x against y for the value v, starting at column j (the row's first
// column with x[i]-y[j] <= v), taking steps steps.
type chain struct {
	i, j, steps int
	v           float64
	bound       []int32 // bound[r] is set to row r's first column with x[r]-y[j] <= v; bound[len(x)] is scratch
}

// runChains walks four chains interleaved, without data-dependent branches:
// each step either moves a chain's column right (x[i]-y[j] > v) or records
// the row's boundary and moves to the next row. ys is y with -Inf before and
// +Inf after it, so column j is ys[j+1] and every row ends at column <= ny.
func runChains(x, ys []float64, cs *[4]chain) {
	n := len(x)
	i0, j0, v0, b0 := cs[0].i, cs[0].j, cs[0].v, cs[0].bound
	i1, j1, v1, b1 := cs[1].i, cs[1].j, cs[1].v, cs[1].bound
	i2, j2, v2, b2 := cs[2].i, cs[2].j, cs[2].v, cs[2].bound
	i3, j3, v3, b3 := cs[3].i, cs[3].j, cs[3].v, cs[3].bound
	steps := min(cs[0].steps, cs[1].steps, cs[2].steps, cs[3].steps)
	for range steps {
		a0 := 0
		if x[i0]-ys[j0+1] > v0 {
			a0 = 1
		}
		w0 := i0
		if a0 != 0 {
			w0 = n
		}
		b0[w0] = int32(j0)
		j0 += a0
		i0 += 1 - a0

		a1 := 0
		if x[i1]-ys[j1+1] > v1 {
			a1 = 1
		}
		w1 := i1
		if a1 != 0 {
			w1 = n
		}
		b1[w1] = int32(j1)
		j1 += a1
		i1 += 1 - a1

		a2 := 0
		if x[i2]-ys[j2+1] > v2 {
			a2 = 1
		}
		w2 := i2
		if a2 != 0 {
			w2 = n
		}
		b2[w2] = int32(j2)
		j2 += a2
		i2 += 1 - a2

		a3 := 0
		if x[i3]-ys[j3+1] > v3 {
			a3 = 1
		}
		w3 := i3
		if a3 != 0 {
			w3 = n
		}
		b3[w3] = int32(j3)
		j3 += a3
		i3 += 1 - a3
	}
	cs[0].i, cs[0].j = i0, j0
	cs[1].i, cs[1].j = i1, j1
	cs[2].i, cs[2].j = i2, j2
	cs[3].i, cs[3].j = i3, j3
	for c := range cs {
		ch := &cs[c]
		i, j, v, b := ch.i, ch.j, ch.v, ch.bound
		for range ch.steps - steps {
			a := 0
			if x[i]-ys[j+1] > v {
				a = 1
			}
			w := i
			if a != 0 {
				w = n
			}
			b[w] = int32(j)
			j += a
			i += 1 - a
		}
		ch.i, ch.j = i, j
	}
}
