package intake

import (
	"sync"

	"icesurvey/pseudo"
)

// prefetchSource reads a row source ahead in a goroutine of its own, so splitting
// CSV rows and checking their UTF-8 overlap with the checks of the rows before them.
// Rows travel in batches whose fields are copied into one buffer per batch; batches
// are recycled. An error of the underlying source is delivered in its place, after
// every row read before it, so the caller sees exactly what the source would give.
type prefetchSource struct {
	src rowSource
	// unquotedLine is the source's line of the row it last returned, when that is
	// its fields joined by commas (nil otherwise).
	unquotedLine func() []byte
	strict       bool
	full         chan *rowBatch
	free         chan *rowBatch
	stop         chan struct{}
	wg           sync.WaitGroup

	// persons, when set, has the reading goroutine also derive each row's
	// pseudo.Person (see prefetchPersons).
	persons *personDeriver

	cur    *rowBatch
	pos    int
	fields [][]byte
	err    error // sticky end (io.EOF or an error)
}

// personDeriver derives a row's pseudo.Person from its RECORD_ID field.
type personDeriver struct {
	keyed     *pseudo.Keyed // the reading goroutine's own: a Keyed is not safe to share
	wave, ics string
	idCol     int
}

// rowBatch is a run of rows. Their fields are copied into data one after the other,
// each followed by one separator byte, so that an unquoted CSV line is copied whole
// (its commas are the separators); field f spans data[ends[f-1]+1:ends[f]] (from 0
// for the first field of the batch).
type rowBatch struct {
	data    []byte
	ends    []int // end offset in data of each field
	starts  []int // index in ends of the first field of each row (len = rows + 1)
	rows    []int // row numbers
	persons []pseudo.Person
	err     error // after the rows: the source's next error (io.EOF at the end)
}

const (
	prefetchRows  = 512
	prefetchDepth = 4
)

// prefetch wraps src; call it after any setting of src that its rows depend on.
func prefetch(src rowSource) *prefetchSource { return prefetchPersons(src, nil) }

// prefetchPersons is prefetch that also derives every row's pseudo.Person, which
// person returns: the HMAC is taken on the reading goroutine, beside the pass's
// goroutine (the intake's critical path) rather than on it. Rows that are never
// accepted have theirs taken too, unused: about one row in twelve.
func prefetchPersons(src rowSource, persons *personDeriver) *prefetchSource {
	p := &prefetchSource{
		persons:      persons,
		unquotedLine: func() []byte { return nil },
		src:          src,
		strict:       src.strictWidth(),
		full:         make(chan *rowBatch, prefetchDepth),
		free:         make(chan *rowBatch, prefetchDepth+2),
		stop:         make(chan struct{}),
	}
	if cr, ok := src.(*csvReader); ok {
		p.unquotedLine = cr.unquotedLine
	}
	for i := 0; i < prefetchDepth+2; i++ {
		p.free <- &rowBatch{}
	}
	p.wg.Add(1)
	go p.fill()
	return p
}

func (p *prefetchSource) fill() {
	defer p.wg.Done()
	for {
		var b *rowBatch
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		b.data, b.ends, b.starts, b.rows, b.persons, b.err = b.data[:0], b.ends[:0], append(b.starts[:0], 0), b.rows[:0], b.persons[:0], nil
		for len(b.rows) < prefetchRows {
			fields, row, err := p.src.next()
			if err != nil {
				b.err = err
				break
			}
			if line := p.unquotedLine(); line != nil {
				// The fields are the line's parts between its commas: one copy.
				end := len(b.data)
				b.data = append(append(b.data, line...), ',')
				for _, f := range fields {
					end += len(f)
					b.ends = append(b.ends, end)
					end++
				}
			} else {
				for _, f := range fields {
					b.data = append(b.data, f...)
					b.ends = append(b.ends, len(b.data))
					b.data = append(b.data, ',')
				}
			}
			b.starts = append(b.starts, len(b.ends))
			b.rows = append(b.rows, row)
			if d := p.persons; d != nil {
				b.persons = append(b.persons, d.keyed.Person(d.wave, d.ics, view(field(fields, d.idCol))))
			}
		}
		select {
		case p.full <- b:
		case <-p.stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

func (p *prefetchSource) next() ([][]byte, int, error) {
	for {
		if p.err != nil {
			return nil, 0, p.err
		}
		if p.cur != nil && p.pos < len(p.cur.rows) {
			b, i := p.cur, p.pos
			p.pos++
			p.fields = p.fields[:0]
			start := 0
			if s := b.starts[i]; s > 0 {
				start = b.ends[s-1] + 1
			}
			for _, e := range b.ends[b.starts[i]:b.starts[i+1]] {
				p.fields = append(p.fields, b.data[start:e:e])
				start = e + 1
			}
			return p.fields, b.rows[i], nil
		}
		if p.cur != nil {
			if p.cur.err != nil {
				p.err = p.cur.err
				continue
			}
			p.free <- p.cur
			p.cur = nil
		}
		p.cur, p.pos = <-p.full, 0
	}
}

// person is the pseudo.Person of the row the last call to next returned; it needs
// prefetchPersons.
func (p *prefetchSource) person() pseudo.Person { return p.cur.persons[p.pos-1] }

func (p *prefetchSource) strictWidth() bool { return p.strict }

// close stops the reading goroutine, then closes the source.
func (p *prefetchSource) close() error {
	close(p.stop)
	p.wg.Wait()
	return p.src.close()
}
