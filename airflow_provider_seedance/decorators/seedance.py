"""``@task.seedance``: a TaskFlow function returns the generation request; the operator does the rest.

The function returns a mapping of request fields (``prompt``, ``model``, ``output_path``, ``first_frame``,
``seed``...) or just the prompt as text; what it returns overrides what the decorator was given. From there the
task is a ``SeedanceGenerateVideoOperator``: deferral, claims, manifests, cost, lineage and links are its own.

The function runs each time the task starts and again when it resumes from the triggerer, as templates are
rendered again on resume: the request is not stored between the two (it may hold media URLs), so the function
should build the same request from the same arguments. A changed request is caught by the claim (the resume
refuses a claim made for another request) rather than paid for.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar

from airflow.sdk import Context, ObjectStoragePath

from airflow_provider_seedance.compat import (
    OVERWRITE_RENDERED_FIELDS_AFTER_A_TRY,
    AirflowFailException,
    DecoratedOperator,
    TaskDecorator,
    context_merge,
    determine_kwargs,
    task_decorator_factory,
)
from airflow_provider_seedance.generation.request_fields import REQUEST_FIELDS
from airflow_provider_seedance.operators.seedance import SeedanceGenerateVideoOperator

# What the function may return, besides the request model's own fields.
RETURNABLE = (*REQUEST_FIELDS, "output_path")


class SeedanceDecoratedOperator(DecoratedOperator, SeedanceGenerateVideoOperator):
    """The operator behind ``@task.seedance``: the function's return value is the request.

    :param python_callable: the decorated function; it returns a mapping of request fields or the prompt.
    :param op_args: positional arguments of the function (templated).
    :param op_kwargs: keyword arguments of the function (templated).
    :param kwargs: what ``SeedanceGenerateVideoOperator`` takes (``model``, ``output_path`` and the request
        fields as defaults the function's return value overrides, and every setting).
    """

    template_fields: Sequence[str] = (
        *DecoratedOperator.template_fields,
        *SeedanceGenerateVideoOperator.template_fields,
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **DecoratedOperator.template_fields_renderers,
        **SeedanceGenerateVideoOperator.template_fields_renderers,
    }
    custom_operator_name = "@task.seedance"
    request_set_during_execution = True
    # The rendered fields show the request the function returned (Airflow 3.1+: see compat).
    overwrite_rtif_after_execution = OVERWRITE_RENDERED_FIELDS_AFTER_A_TRY

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        model: str | None = None,
        output_path: str | ObjectStoragePath | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["multiple_outputs"] = False  # the task returns the generation's result, not the function's
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            model=model,
            output_path=output_path,
            **kwargs,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        self._take_request(context)
        return SeedanceGenerateVideoOperator.execute(self, context)

    def execute_after_capacity_wait(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        self._take_request(context)
        return super().execute_after_capacity_wait(context, event)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        self._take_request(context)
        return super().execute_complete(context, event)

    def _take_request(self, context: Context) -> None:
        """Call the function and make what it returns this task's request, checked as a DAG's arguments are."""
        context_merge(context, self.op_kwargs)
        returned = self.python_callable(*self.op_args, **determine_kwargs(self.python_callable, self.op_args, context))
        for name, value in request_of(returned, self.task_id).items():
            setattr(self, name, value)
        self.render_template_fields(context)
        missing = [name for name in ("model", "output_path") if not getattr(self, name)]
        try:
            if missing:
                raise ValueError(
                    f"no {' and no '.join(missing)}: return {missing[0]!r} from the function or pass it to "
                    f"@task.seedance(...)"
                )
            self.check_request({"output_path": self.output_path, **self._fields()})
        except ValueError as exc:
            raise AirflowFailException(
                f"{self.task_id}: {exc}. Next: fix the request the function builds, then clear the task."
            ) from None


def request_of(returned: Any, task_id: str) -> dict[str, Any]:
    """The request fields a ``@task.seedance`` function returned: a mapping of them, or the prompt as text."""
    if isinstance(returned, str):
        return {"prompt": returned}
    if not isinstance(returned, Mapping):
        raise AirflowFailException(
            f"{task_id}: the function returned {type(returned).__name__}; a @task.seedance function returns the "
            f"request as a dict (keys among {', '.join(RETURNABLE)}) or the prompt as text. Next: return one of those."
        )
    unknown = sorted(set(returned) - set(RETURNABLE))
    if unknown:
        raise AirflowFailException(
            f"{task_id}: the function returned {', '.join(map(repr, unknown))}, which no request has; the keys are "
            f"{', '.join(RETURNABLE)}. Settings (connections, poll_interval...) go to @task.seedance(...). "
            "Next: rename or remove those keys."
        )
    return dict(returned)


def seedance_task(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> TaskDecorator:
    """``@task.seedance``: wrap a function that returns a generation request into a Seedance generation task.

    Takes what ``SeedanceGenerateVideoOperator`` takes; the function's return value (a dict of request fields,
    or the prompt as text) overrides the request fields given here.
    """
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=SeedanceDecoratedOperator, **kwargs
    )
