"""The store calls in a C file, as the static checks read them (imported by
check-binds.py and check-tenancy.py): each store_exec/store_query/
store_scalar call's line, the text between its parentheses, and its SQL
(the call's string literals joined; a macro's text is not a literal and is
left out). A statement named at file scope (`const char queue_sql_x[] =
"...";`, so a test can run the very same text) is read where its name is
passed, as if its literals were written there."""
import re


LITERAL = r'"((?:[^"\\]|\\.)*)"'


def sql_consts(src):
    """The file's named statements, at file scope (a line of its own from
    its first column): name -> its literals joined."""
    return {m.group(1): ''.join(re.findall(LITERAL, m.group(2)))
            for m in re.finditer(r'^(?:static\s+)?const\s+char\s+(\w+)\s*\[\s*\]\s*=\s*'
                                 r'((?:\s*(?:' + LITERAL + r'|[A-Za-z_]\w*\b))+)\s*;', src,
                                 re.M)}


def store_calls(path):
    src = open(path).read()
    consts = sql_consts(src)
    for m in re.finditer(r'\bstore_(exec|query|scalar|insert)\(', src):
        i = j = m.end()
        depth = 1
        while depth:
            c = src[j]
            if c == '"':
                j += 1
                while src[j] != '"':
                    j += 2 if src[j] == '\\' else 1
            elif c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
            j += 1
        call = src[i:j - 1]
        sql = ''.join(t.group(1) if t.group(1) is not None else consts.get(t.group(2), '')
                      for t in re.finditer(LITERAL + r'|\b([A-Za-z_]\w*)\b', call))
        sql = sql.replace('\\"', '"')
        yield src[:m.start()].count('\n') + 1, call, sql
