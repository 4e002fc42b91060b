"""correlations: the agents and users with the most errors, and what they hit."""

from __future__ import annotations

from otel_errors import analytics

from ..queries import tracking as queries
from ._models import AgentCorrelation, Correlations, UserCorrelation

PEOPLE_LISTED = 10
ERROR_TYPES_LISTED = 5


def correlations(
    *, users: list[queries.PersonRow], agents: list[queries.PersonRow], executions: list[queries.ExecutionRow]
) -> Correlations:
    runs = {run.agent_id: run for run in executions}
    agent_rows = []
    for agent in agents[:PEOPLE_LISTED]:
        run = runs.get(agent.key)
        agent_rows.append(
            AgentCorrelation(
                agent_id=agent.key,
                agent_name=(run.agent_name if run and run.agent_name else agent.key),
                error_types=sorted(agent.error_types)[:ERROR_TYPES_LISTED],
                error_rate=analytics.percent(run.failed, run.executions) if run else 0.0,
                common_cause=agent.top_error,
            )
        )
    user_rows = [
        UserCorrelation(
            user_id=user.key,
            error_types=sorted(user.error_types)[:ERROR_TYPES_LISTED],
            frequency=user.frequency,
            possible_cause=user.top_error,
        )
        for user in users[:PEOPLE_LISTED]
    ]
    return Correlations(agent_correlation=agent_rows, user_correlation=user_rows, error_chains=[])
