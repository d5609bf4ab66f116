"""Sign-offs: stakeholders recording that a service passed a checkpoint (refine, launch, ...).

Owns stakeholder roles (declared in watchkeeper.yaml) and sign-offs (runtime objects: made
with `watchkeeper signoff`, revocable, never deleted by `apply`). Answers the readiness items
refine_signoff and stakeholder_signoff through `evidence.py`; knows nothing of readiness.
"""
