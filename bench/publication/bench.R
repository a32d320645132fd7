# R's part of the publication benchmark (bench/publication): the raking and the
# ICS-level estimates of a national wave, with the survey package, as an analyst
# would write them. Reads DIR/respondents.csv, DIR/margins.csv, DIR/questions.csv
# (written by the benchmark) and prints one line: the wall and CPU seconds of the timed
# part (after the files are read and the answers split into code lists, as Go's part
# times after its parse), the ICSs weighted and the estimates made.
#
#   Rscript bench.R DIR
suppressPackageStartupMessages(library(survey))
dir <- commandArgs(trailingOnly = TRUE)[1]
rd <- function(f) read.csv(file.path(dir, f), colClasses = "character", na.strings = character(0))
resp <- rd("respondents.csv")
margins <- rd("margins.csv"); margins$frame <- as.numeric(margins$frame)
questions <- rd("questions.csv")
lo <- 0.2; hi <- 5
vars <- c("age_band", "gender", "efi_band")

# Untimed, like Go's parse: each answer column as a list of code vectors.
split_codes <- function(s) if (s == "") character(0) else strsplit(s, ";", fixed = TRUE)[[1]]
codes <- lapply(questions$question, function(q) lapply(resp[[q]], split_codes))
names(codes) <- questions$question

t0 <- proc.time()
n_est <- 0
est_rows <- list()
estimate <- function(des, rows, qs) {
  for (qi in which(questions$question %in% qs)) {
    q <- questions[qi, ]
    pos <- split_codes(q$positive)
    if (length(pos) == 0) next
    basecodes <- setdiff(split_codes(q$options), split_codes(q$excluded))
    ans <- codes[[q$question]][rows]
    inbase <- vapply(ans, function(a) any(a %in% basecodes), TRUE)
    if (!any(inbase)) next  # a bank question this ICS did not add
    measures <- if (q$multi == "true") as.list(basecodes) else list(pos)
    for (m in measures) {
      des$variables$y <- as.numeric(vapply(ans, function(a) any(a %in% m), TRUE))
      des$variables$inbase <- inbase
      p <- unname(coef(svymean(~y, subset(des, inbase))))
      w <- weights(des)[inbase]
      neff <- sum(w)^2 / sum(w^2)
      ci <- suppressWarnings(prop.test(p * neff, neff, correct = FALSE)$conf.int)
      n_est <<- n_est + 1
      est_rows[[n_est]] <<- c(p, neff, ci)
    }
  }
}
pq <- questions$question[questions$type == "patient"]
cq <- questions$question[questions$type == "carer"]
icss <- unique(resp$ics)
for (k in icss) {
  rows <- which(resp$ics == k & resp$type == "patient")
  d <- resp[rows, ]
  n <- nrow(d)
  pop <- c()
  for (v in vars) {
    m <- margins[margins$ics == k & margins$variable == v, ]
    m <- m[order(as.integer(m$position)), ]
    d[[v]] <- factor(d[[v]], levels = m$level)
    for (i in seq_len(nrow(m))[-1]) pop[paste0(v, m$level[i])] <- m$frame[i]
    N <- sum(m$frame)
  }
  d$d <- N / n
  pop <- c(`(Intercept)` = N, pop)
  des <- svydesign(ids = ~1, weights = ~d, data = d)
  f <- ~age_band + gender + efi_band
  cal <- calibrate(des, f, population = pop, calfun = "raking", epsilon = 1e-12, maxit = 1000)
  g <- weights(cal) / d$d
  if (any(g < lo * (1 - 1e-9) | g > hi * (1 + 1e-9))) {
    b <- tryCatch(calibrate(des, f, population = pop, calfun = "raking", bounds = c(lo, hi), epsilon = 1e-12, maxit = 1000),
                  warning = function(w) NULL, error = function(e) NULL)
    if (!is.null(b)) cal <- b
  }
  estimate(cal, rows, pq)
  crow <- which(resp$ics == k & resp$type == "carer")
  cd <- resp[crow, ]
  cd$one <- 1
  estimate(svydesign(ids = ~1, weights = ~one, data = cd), crow, cq)
}
t <- proc.time() - t0
cat(sprintf("%.6f %.6f %d %d\n", t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], length(icss), n_est))
