"""AgentDojo replayed without a model: ``python -m bench.agentdojo`` (see ``__main__`` for the figures).

``defences`` holds the protocol a defence implements and the defences shipped with the benchmark;
``dojo`` is the typed face of AgentDojo; ``replay`` runs the ground truths through a defence;
``figures`` counts; ``inventory`` lists each suite's tools beside the packs' declarations. Only
``dojo`` and the modules that use it need ``agentdojo`` installed.
"""

from bench.agentdojo.defences import Defence, DefenceUnavailable, Verdict, load_defence

__all__ = ["Defence", "DefenceUnavailable", "Verdict", "load_defence"]
