"""Real-time benefit verification: a 270 inquiry out, a 271 (as "eligibility v3" JSON) back.

`inquiry` (the 270), `codes` (X12 tables), `wire` (the 271's JSON shape), `mapping` (271 ->
`benefits`, pure data), `answer` (an HTTP answer -> outcome), `payers` (per-payer quirks) and
`client` (httpx transport with retries; the only module here that does network I/O).
"""
