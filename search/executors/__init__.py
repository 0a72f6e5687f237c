"""Executors: where the driver loop's trials train. `LocalExecutor` trains in this process;
`search.executors.ray_tasks.RayExecutor` (imported only when Ray is used) on Ray workers."""

from search.executors.local import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
