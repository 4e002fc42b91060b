"""correlations: the agents and users with the most errors, and what they hit."""

from __future__ import annotations

import uuid

from otel_errors import analytics

from ..queries import chains as chain_queries
from ..queries import tracking as queries
from ._models import AgentCorrelation, Correlations, ErrorChain, UserCorrelation

PEOPLE_LISTED = 10
ERROR_TYPES_LISTED = 5
CHAINS_LISTED = 10


def error_chains(
    chains: list[chain_queries.ChainRow], errors: dict[uuid.UUID, chain_queries.ErrorBrief]
) -> list[ErrorChain]:
    listed = []
    for chain in chains:
        root = errors.get(chain.root_error_id)

        def title(error_id: uuid.UUID) -> str:
            brief = errors.get(error_id)
            return brief.title if brief else ""

        listed.append(
            ErrorChain(
                root_error=str(chain.root_error_id),
                cascading_errors=[str(e) for e in chain.cascade_error_ids],
                total_impact=chain.executions,
                preventable=root is not None
                and analytics.preventable(
                    root.category,
                    root.type,
                    root.title,
                    root.context.get("http.response.status_code", root.context.get("http.status_code")),
                ),
                chain_id=str(chain.chain_id),
                root_error_title=title(chain.root_error_id),
                cascading_error_titles=[title(e) for e in chain.cascade_error_ids],
            )
        )
    return listed


def correlations(
    *,
    users: list[queries.PersonRow],
    agents: list[queries.PersonRow],
    executions: list[queries.ExecutionRow],
    chains: list[ErrorChain],
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
    return Correlations(agent_correlation=agent_rows, user_correlation=user_rows, error_chains=chains)
