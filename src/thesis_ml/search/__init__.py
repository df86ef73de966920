"""Adaptive search (issue 18): Optuna proposes each round's trials, the results are told back.

A workflow config's ``search:`` section (``section``, ``space``; its JSON schema is
``schema.yaml``) names a sampler, a budget of trials, the objective and the space of override
values; ``run_config`` checks the searched keys against the run config. A search advances in
rounds of two steps, which the workflow runs as jobs: ``study.propose_round`` asks Optuna for
the round's trials (one fresh seeded sampler a round: ``samplers``), they train as ordinary
runs, and ``study.tell_round`` records their objective values (read from their facts by
``results``) in the study's journal file (``journal``). ``rounds`` holds the round files,
``halving`` the successive-halving schedule within a round, ``table`` the trial table and the
search's status. ``python -m thesis_ml.search propose|tell|status`` runs the steps.

Everything lives in ``results/<sweep>/search/<digest>/``; ``plan`` says where each trial's
run goes at each successive-halving rung, and what overrides it gets.
"""

from thesis_ml.errors import UserError


class SearchError(UserError):
    """A search section, or a search's files, that cannot be used; the message names the key."""
