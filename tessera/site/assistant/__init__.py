"""The site assistant: answers questions about the product by retrieval over the FAQ, the policy and the register.

Offline: BM25 (bm25s) over stemmed, accent-folded passages built at run time, so the register stays the source
of truth. The question is neither stored nor logged; only a daily count of answered and unanswered questions is.
"""
