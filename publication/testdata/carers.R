# The independent check of the release's carer figures (PUBLICATION.md: carers are
# unweighted, w = 1), run by publication/crosscheck_test.go beside the patients' check
# (estimate/testdata/crosscheck.R): % positive with svymean, n_eff, and the Wilson
# interval with prop.test, for each ICS and for England.
#
#   Rscript carers.R DIR
#
# Reads DIR/carers.csv (ics, id, one column per question; a multi-choice answer is its
# codes joined by ";") and DIR/carer_questions.csv (question, options, positive,
# excluded, multi). Writes DIR/r_carers.csv (group, question, measure, base, p, n_eff,
# lower, upper).
suppressPackageStartupMessages(library(survey))
dir <- commandArgs(trailingOnly = TRUE)[1]
rd <- function(f) read.csv(file.path(dir, f), colClasses = "character", na.strings = character(0))
resp <- rd("carers.csv")
questions <- rd("carer_questions.csv")
# The intervals' confidence level: DIR/params.csv's confidence (the patients' check
# reads the same file), else 0.95.
conf <- 0.95
if (file.exists(file.path(dir, "params.csv"))) {
  params <- rd("params.csv")
  if (any(params$name == "confidence")) conf <- as.numeric(params$value[params$name == "confidence"])
}
split_codes <- function(s) if (s == "") character(0) else strsplit(s, ";", fixed = TRUE)[[1]]
fmt <- function(x) sprintf("%.17g", x)
rows <- list()
estimate <- function(group, data) {
  for (qi in seq_len(nrow(questions))) {
    q <- questions[qi, ]
    pos <- split_codes(q$positive)
    if (length(pos) == 0) next
    basecodes <- setdiff(split_codes(q$options), split_codes(q$excluded))
    ans <- lapply(data[[q$question]], split_codes)
    inbase <- vapply(ans, function(a) any(a %in% basecodes), TRUE)
    if (!any(inbase)) next
    measures <- if (q$multi == "true") lapply(basecodes, function(o) list(label = o, pos = o)) else list(list(label = "", pos = pos))
    for (m in measures) {
      data$y <- as.numeric(vapply(ans, function(a) any(a %in% m$pos), TRUE))
      data$inbase <- inbase
      data$one <- 1
      sub <- subset(svydesign(ids = ~1, weights = ~one, data = data), inbase)
      p <- unname(coef(svymean(~y, sub)))
      neff <- sum(inbase)  # every weight 1: (sum w)^2 / sum w^2 is the base
      ci <- suppressWarnings(prop.test(p * neff, neff, correct = FALSE, conf.level = conf)$conf.int)
      rows[[length(rows) + 1]] <<- data.frame(group = group, question = q$question, measure = m$label,
        base = sum(inbase), p = fmt(p), n_eff = fmt(neff), lower = fmt(ci[1]), upper = fmt(ci[2]))
    }
  }
}
for (k in unique(resp$ics)) estimate(k, resp[resp$ics == k, ])
estimate("england", resp)
write.csv(do.call(rbind, rows), file.path(dir, "r_carers.csv"), row.names = FALSE)
