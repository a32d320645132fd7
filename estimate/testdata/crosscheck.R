# The independent check of the published statistics (PUBLICATION.md), run by
# estimate/crosscheck_test.go: given a synthetic wave as CSV, it weights and estimates
# with the R survey package and writes what it got for Go to compare to 1e-9.
#
#   Rscript crosscheck.R DIR
#
# Reads DIR/params.csv (name,value), DIR/margins.csv (ics,variable,position,level,
# frame), DIR/respondents.csv (ics,id,age_band,gender,efi_band, one column per
# question; a multi-choice answer is its codes joined by ";"), DIR/questions.csv
# (question,options,positive,excluded,multi; code lists joined by ";").
# Writes DIR/r_weights.csv (ics,id,status,weight), DIR/r_levels.csv (ics,variable,
# label) and DIR/r_estimates.csv (group,weighting,question,measure,base,p,n_eff,
# lower,upper).
#
# M2's collapse is implemented here again, from the text of PUBLICATION.md, so the
# collapsed levels are checked too; the weights come from survey::calibrate with
# calfun = "raking" (bounded: bounds = c(lo, hi), whose clip of exp(u) to the bounds
# is PUBLICATION.md's definition), % positive from svymean, intervals from prop.test.
suppressPackageStartupMessages(library(survey))

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
rd <- function(f) read.csv(file.path(dir, f), colClasses = "character", na.strings = character(0))
params <- rd("params.csv")
par <- function(name) as.numeric(params$value[params$name == name])
lo <- par("lo"); hi <- par("hi"); min_level_n <- par("min_level_n")
epsilon <- par("r_epsilon"); maxit <- par("r_maxit")
vars <- strsplit(params$value[params$name == "vars"], ",")[[1]]
# The intervals' confidence level (PUBLICATION.md C; a release may set it): 0.95 when
# params.csv does not give it.
conf <- if (any(params$name == "confidence")) par("confidence") else 0.95

margins <- rd("margins.csv")
margins$frame <- as.numeric(margins$frame)
margins$position <- as.integer(margins$position)
resp <- rd("respondents.csv")
questions <- rd("questions.csv")
split_codes <- function(s) if (s == "") character(0) else strsplit(s, ";", fixed = TRUE)[[1]]

fmt <- function(x) sprintf("%.17g", x)

# M2, from its text: drop levels with frame 0 and no respondents; then while more than
# one level remains and the smallest n < min_level_n, merge the smallest (ties:
# earliest) into its neighbour with the smaller n (ties: preceding; at an end, its
# only neighbour); the merged level takes the earlier position and label "a+b".
collapse <- function(levels, frame, n) {
  keep <- !(frame == 0 & n == 0)
  if (any(frame == 0 & n > 0)) stop("frame 0 with respondents")
  lv <- lapply(which(keep), function(i) list(label = levels[i], members = levels[i], frame = frame[i], n = n[i]))
  while (length(lv) > 1) {
    ns <- sapply(lv, function(l) l$n)
    s <- which.min(ns)  # first of the smallest
    if (ns[s] >= min_level_n) break
    if (s == 1) into <- 2
    else if (s == length(lv)) into <- s - 1
    else into <- if (ns[s + 1] < ns[s - 1]) s + 1 else s - 1
    a <- min(s, into); b <- max(s, into)
    lv[[a]] <- list(label = paste0(lv[[a]]$label, "+", lv[[b]]$label),
                    members = c(lv[[a]]$members, lv[[b]]$members),
                    frame = lv[[a]]$frame + lv[[b]]$frame, n = lv[[a]]$n + lv[[b]]$n)
    lv[[b]] <- NULL
  }
  lv
}

out_w <- list(); out_l <- list(); weighted <- list(); method <- list()
for (k in unique(resp$ics)) {
  d <- resp[resp$ics == k, ]
  n <- nrow(d)
  pop <- c()
  cvars <- c()
  collapsed <- list()
  for (v in vars) {
    m <- margins[margins$ics == k & margins$variable == v, ]
    m <- m[order(m$position), ]
    counts <- sapply(m$level, function(l) sum(d[[v]] == l))
    lv <- collapse(m$level, m$frame, counts)
    lab <- rep(NA_character_, n)
    for (l in lv) lab[d[[v]] %in% l$members] <- l$label
    cv <- paste0("c_", v)
    collapsed[[cv]] <- lv
    d[[cv]] <- factor(lab, levels = sapply(lv, function(l) l$label))
    for (l in lv) out_l[[length(out_l) + 1]] <- data.frame(ics = k, variable = v, label = l$label)
    if (length(lv) > 1) {
      cvars <- c(cvars, cv)
      for (l in lv[-1]) pop[paste0(cv, l$label)] <- l$frame
    }
    N <- sum(m$frame)
  }
  d$d <- N / n
  pop <- c(`(Intercept)` = N, pop)
  design <- svydesign(ids = ~1, weights = ~d, data = d)
  f <- as.formula(paste("~", paste(cvars, collapse = "+")))
  cal <- function(bounds) {
    failed <- FALSE
    des <- withCallingHandlers(
      calibrate(design, f, population = pop, calfun = "raking", bounds = bounds,
                epsilon = epsilon, maxit = maxit, force = TRUE),
      warning = function(w) {
        if (grepl("converge", conditionMessage(w))) failed <<- TRUE
        invokeRestart("muffleWarning")
      })
    list(w = weights(des), failed = failed, method = "calibrate(raking, bounds)")
  }
  # calibrate's Newton iteration for bounded raking can stall: a unit clipped to a
  # bound has derivative 0, so it is never moved off it, though the solution needs it
  # elsewhere. Then the same solution is found by an active-set method on calibrate's
  # unbounded raking: hold the units whose exp(x'eta) is beyond a bound at that bound,
  # rake the others to the margins less the held units' weights, recover eta from
  # them (log g = x'eta exactly), and repeat until the held set no longer changes.
  # Its fixed point is the definition's (margins met, w = d clip(exp(x'eta))).
  active_set <- function() {
    X <- model.matrix(f, d)
    state <- rep(0, n)
    for (it in 1:200) {
      free <- state == 0
      held <- ifelse(state < 0, lo, hi) * d$d
      popf <- pop - colSums(X[!free, , drop = FALSE] * held[!free])
      if (any(colSums(X[free, , drop = FALSE]) == 0)) return(list(failed = TRUE))
      desf <- svydesign(ids = ~1, weights = ~d, data = d[free, ])
      failed <- FALSE
      cf <- withCallingHandlers(
        calibrate(desf, f, population = popf, calfun = "raking", epsilon = epsilon, maxit = maxit, force = TRUE),
        warning = function(w) { failed <<- TRUE; invokeRestart("muffleWarning") })
      if (failed) return(list(failed = TRUE))
      eta <- qr.solve(X[free, , drop = FALSE], log(weights(cf) / d$d[free]))
      u <- drop(exp(X %*% eta))
      new <- ifelse(u < lo, -1, ifelse(u > hi, 1, 0))
      if (all(new == state)) {
        g <- ifelse(state < 0, lo, ifelse(state > 0, hi, u))
        g[free] <- weights(cf) / d$d[free]
        return(list(w = g * d$d, failed = FALSE, method = "active set on calibrate(raking)"))
      }
      state <- new
    }
    list(failed = TRUE)
  }
  u <- cal(c(-Inf, Inf))  # W1
  status <- NA
  w <- u$w
  if (u$failed) {
    status <- "rake_failed"
  } else {
    g <- w / d$d
    if (all(g >= lo * (1 - 1e-9) & g <= hi * (1 + 1e-9))) {
      status <- "not_needed"  # W2
    } else {
      # W3: r = T / Σd per collapsed level (labels such as "75-84+85+" are not
      # split: each level keeps its members).
      r <- c()
      for (cv in paste0("c_", vars)) {
        for (l in collapsed[[cv]]) r <- c(r, l$frame / (d$d[1] * l$n))
      }
      if (any(r <= lo | r >= hi)) {
        status <- "infeasible_untrimmed"  # W3
      } else {
        b <- cal(c(lo, hi))  # W4
        if (b$failed) b <- active_set()
        if (b$failed) {
          status <- "infeasible_untrimmed"
        } else {
          status <- "trimmed"
          w <- b$w
          method[[k]] <- b$method
        }
      }
    }
  }
  out_w[[k]] <- data.frame(ics = k, id = d$id, status = status, weight = fmt(w),
                           method = if (is.null(method[[k]])) "calibrate(raking)" else method[[k]])
  if (status != "rake_failed") {
    d$w <- w
    weighted[[k]] <- d
  }
}
write.csv(do.call(rbind, out_w), file.path(dir, "r_weights.csv"), row.names = FALSE)
write.csv(do.call(rbind, out_l), file.path(dir, "r_levels.csv"), row.names = FALSE)

# Estimates: every scored measure, for each ICS (weighted and unweighted), England
# and England excluding each ICS.
all <- do.call(rbind, weighted)
rows <- list()
estimate <- function(group, weighting, data, wcol) {
  for (qi in seq_len(nrow(questions))) {
    q <- questions[qi, ]
    pos <- split_codes(q$positive)
    if (length(pos) == 0) next
    opts <- split_codes(q$options); excl <- split_codes(q$excluded)
    basecodes <- setdiff(opts, excl)
    ans <- lapply(data[[q$question]], split_codes)
    inbase <- sapply(ans, function(a) any(a %in% basecodes))
    measures <- if (q$multi == "true") lapply(basecodes, function(o) list(label = o, pos = o)) else list(list(label = "", pos = pos))
    for (m in measures) {
      data$y <- as.numeric(sapply(ans, function(a) any(a %in% m$pos)))
      data$inbase <- inbase
      data$wt <- data[[wcol]]
      des <- svydesign(ids = ~1, weights = ~wt, data = data)
      sub <- subset(des, inbase)
      p <- unname(coef(svymean(~y, sub)))
      w <- data$wt[inbase]
      neff <- sum(w)^2 / sum(w^2)
      ci <- suppressWarnings(prop.test(p * neff, neff, correct = FALSE, conf.level = conf)$conf.int)
      rows[[length(rows) + 1]] <<- data.frame(group = group, weighting = weighting, question = q$question,
        measure = m$label, base = sum(inbase), p = fmt(p), n_eff = fmt(neff), lower = fmt(ci[1]), upper = fmt(ci[2]))
    }
  }
}
all$one <- 1
for (k in names(weighted)) {
  estimate(k, "weighted", all[all$ics == k, ], "w")
  estimate(k, "unweighted", all[all$ics == k, ], "one")
  estimate(paste0("england-", k), "weighted", all[all$ics != k, ], "w")
}
estimate("england", "weighted", all, "w")
write.csv(do.call(rbind, rows), file.path(dir, "r_estimates.csv"), row.names = FALSE)
