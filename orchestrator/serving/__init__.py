"""How the orchestrator reaches, starts, supplies and load-tests Triton.

``client`` — the models over gRPC by their contracts (versions, readiness, streaming);
``local`` — the bundled ``tritonserver`` run on this machine (CPU profile);
``fetch`` — the weights of each profile into the model repository (``llm_weights`` converts
the offline LLM in the vLLM environment); ``perf`` and ``loadtest`` — perf_analyzer.
"""
