// Package chart draws the dashboard's charts as SVG on the server: horizontal bars with
// interval whiskers against a comparator marker (IntervalBars), 100% stacked
// distributions (Stacked), a trend line with marked events (Trend), and small multiples
// of either (Multiples).
//
// What it produces: for every chart a Chart value holding the <svg> (role="img",
// aria-labelledby naming its <title> and <desc>), a Table with exactly the numbers the
// picture shows (the page renders it as an accessible HTML table and the download
// writes the same cells), and a one-sentence Summary in words.
//
// What it guarantees:
//   - Deterministic output: the same input gives byte-identical SVG and tables (no map
//     iteration, no clocks, fixed number formatting), so golden files can pin it.
//   - Every label and every id is escaped; a chart's ids are derived from its ID and
//     made safe, so two charts on a page never share an id when their IDs differ.
//   - Comparisons are said in words and drawn by shape (▲ higher, ▼ lower, ● similar),
//     never by colour alone; colours come from the NHS palette and have at least 3:1
//     contrast against white for graphics and 4.5:1 for text (tested).
//   - A withheld value (small-number suppression) is drawn as a labelled gap
//     ("withheld: fewer than 10 responses"), never as a zero-length bar, and its number
//     appears nowhere: the renderers never read the Value fields of a withheld item,
//     so whatever a caller left in them cannot leak (tested).
//   - Sizes work at 320 CSS pixels wide: every SVG has a viewBox and width="100%" and
//     no fixed height, and labels are wrapped onto their own lines rather than squeezed
//     beside the bars.
//   - No inline style attributes (the dashboard's Content Security Policy forbids
//     them): only presentation attributes and classes.
//
// Privacy: the package draws what it is given. Suppression decisions are made before a
// value reaches it (the disclosure package); this package's part is to honour the
// Withheld flag everywhere.
package chart
