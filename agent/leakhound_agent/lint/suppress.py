"""`# leakhound: ignore` and `# leakhound: ignore[rule-id, other-id]` on a finding's line."""
import re

MARK = re.compile(r"#\s*leakhound:\s*ignore(?:\[([^\]]*)\])?")


def suppressed(line_text, rule_id):
    m = MARK.search(line_text)
    if not m:
        return False
    if m.group(1) is None:
        return True
    return rule_id in {r.strip() for r in m.group(1).split(",")}
