"""Native frames that say nothing about which bug crashed: signal and abort machinery, logging and assertion
helpers, allocator internals, event loops and signal dispatch, program entry. Crash reporters skip them when
building signatures (Socorro's "irrelevant" list, ClusterFuzz's ignore list); so do we, for native frames only.
"""

from __future__ import annotations

import re

_IRRELEVANT = re.compile(
    r"(?:"
    # signals, aborts, assertions
    r"kernel_vsyscall|raise|abort|pthread_kill(?:_implementation|_internal)?|tgkill|gsignal|assert_fail(?:_base)?"
    r"|assert_perror_fail|libc_message|fortify_fail|chk_fail|stack_chk_fail|malloc_printerr|libc_fatal"
    r"|_?int_free|_?int_malloc|_?int_realloc|free|malloc|calloc|realloc|cfree|operator delete|operator new"
    r"|memcpy|memmove|memset|strlen|strcmp|strcpy|__?memcpy_\w+|__?strlen_\w+|__?strcmp_\w+"
    r"|std::terminate|__cxa_throw|__cxa_rethrow|__gnu_cxx::__verbose_terminate_handler|__cxxabiv1::\w+"
    # glib logging and assertions
    r"|g_logv|g_log|g_log_default_handler|g_log_structured\w*|g_assertion_message\w*|g_return_if_fail_warning"
    r"|g_error|g_critical|g_warning|g_type_check_instance_cast|g_type_check_instance_is_a|g_object_unref|g_free"
    r"|g_malloc\w*|g_slice_\w+"
    # event loops, signal dispatch, entry points
    r"|main|_start|libc_start_main|libc_start_call_main|start_thread|clone3?|poll|select|epoll_wait|nanosleep"
    r"|g_main_loop_run|g_main_context_\w+|g_main_dispatch|g_idle_dispatch|g_timeout_dispatch|gtk_main(?:_do_event)?"
    r"|g_closure_invoke|g_signal_emit\w*|signal_emit_unlocked_R|g_cclosure_marshal_\w+|_g_closure_invoke_va"
    r"|gtk_propagate_event|gtk_widget_event\w*|_gtk_marshal_\w+|gdk_event_dispatch|_gdk_event_emit"
    r"|QCoreApplication::\w+|QApplication::\w+|QEventLoop::\w+|QMetaObject::activate|QObject::event"
    r")"
)


def is_irrelevant_native(function: str) -> bool:
    """True for frames that appear in crashes of unrelated bugs (`function` already normalized)."""
    return bool(_IRRELEVANT.fullmatch(function.lstrip("_") if not function.startswith("__gnu") else function))
