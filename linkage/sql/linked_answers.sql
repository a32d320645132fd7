-- linked_answers: the closed answers of each consenting respondent's kept response,
-- scored, keyed by the release pseudonym only.
SELECT f.release_pseudonym, a.question_id, a.answer_code, a.scored, a.positive, a.in_base
FROM frame f
JOIN answers a ON a.person_index = f.person_index
WHERE f.consented
