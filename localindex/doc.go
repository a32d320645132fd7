// Package localindex wires the Healthwatch local index (issue #17) to the pipeline's
// store and warehouse: it codes a wave's free text to the six integration themes
// (Code), keeps people's coding decisions (RecordDecisions), reports the classifier
// and the coders' agreement (Report), exports a coded ICS to REFI-QDA (ExportQDPX),
// and builds the side-by-side experience-profile report (GatherProfile, WriteHTML,
// WriteReport; its PDF is printed by package printpdf, which alone links the browser
// driver). The logic of each step lives in freetext, themes and profiles; this
// package reads and writes their inputs and outputs. It knows nothing of Temporal.
//
// # What it produces
//
//   - In the free-text area (free-text/{wave}/{ics}/themes/): the redacted
//     comments with the machine's scores and queue position, the model, .qdpx exports,
//     and profiles/: a profile's report as HTML and PDF (it quotes the redacted text a
//     coder chose, so it leaves only as a named reader's checked, audited copy).
//   - In the lake: theme_decisions (one object per batch of people's decisions: codes,
//     response ids and coder ids) and response_themes (one object per ICS, rewritten
//     whole by each coding run: the machine's suggestions and every coder's decisions, with the
//     code that stands marked final), which the warehouse loads as response_themes.
//
// # Privacy rules
//
// Free text is read only here and in freetext; it is redacted before the classifier
// or any export sees it, and never logged or put in an error. Only codes and ids reach
// the lake and the warehouse. The profile report shows counts and percentages that
// passed the publication's disclosure rules (disclosure.Check with DefaultParams), and
// quotations only after redaction.
package localindex
