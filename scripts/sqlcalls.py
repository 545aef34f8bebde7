"""The store calls in a C file, as the static checks read them (imported by
check-binds.py and check-tenancy.py): each store_exec/store_query/
store_scalar call's line, the text between its parentheses, and its SQL
(the call's string literals joined; a macro's text is not a literal and is
left out). A statement named at file scope (`const char queue_sql_x[] =
"...";`, so a test can run the very same text) is read where its name is
passed, as if its literals were written there.

sql_tables reads the SQL no call site shows: the statements in a table's
rows (tmpl_store.c's tmpl_mappings, run through store_query_v with one
set of values for every row) and the named statements themselves."""
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
        yield src[:m.start()].count('\n') + 1, call, call_sql(call, consts)


def call_sql(text, consts):
    """The SQL in a call's text: its literals, and named statements read
    by their name, in order."""
    sql = ''.join(t.group(1) if t.group(1) is not None else consts.get(t.group(2), '')
                  for t in re.finditer(LITERAL + r'|\b([A-Za-z_]\w*)\b', text))
    return sql.replace('\\"', '"')


STMT = re.compile(r'\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b')
RUN = re.compile(r'(?:\s*(?:' + LITERAL + r'|[A-Z_][A-Z0-9_]*\b))+\s*')


def _split(src, i):
    """The comma-separated items from src[i] to the bracket that closes
    them (strings, comments and nested brackets stepped over): (start,
    text) each."""
    items, depth, k, start = [], 0, i, i
    while True:
        c = src[k]
        if c in '"\'':
            k += 1
            while src[k] != c:
                k += 2 if src[k] == '\\' else 1
        elif src.startswith('/*', k):
            k = src.index('*/', k) + 1
        elif src.startswith('//', k):
            k = src.index('\n', k)
        elif c in '([{':
            depth += 1
        elif c in ')]}':
            depth -= 1
            if depth < 0:
                break
        elif c == ',' and depth == 0:
            items.append((start, src[start:k]))
            start = k + 1
        k += 1
    items.append((start, src[start:k]))
    return items


def _blank(text):
    """text with its comments blanked, offsets kept."""
    return re.sub(r'/\*.*?\*/|//[^\n]*', lambda c: re.sub(r'[^\n]', ' ', c.group(0)), text,
                  flags=re.S)


def sql_tables(path):
    """The statements in the file's tables (arrays initialised with rows of
    literals, as tmpl_mappings) and its named statements: (line, table,
    column, sql), column the row's member by position or designator."""
    src = open(path).read()
    for m in re.finditer(r'\b(\w+)\s*\[[^\]\n]*\]\s*=\s*([{"])', src):
        if m.group(2) == '"':  # a named statement: one row of one column
            rows = [[(m.start(2), RUN.match(src, m.start(2)).group(0))]]
        else:
            rows = []
            for at, item in _split(src, m.end()):
                body = _blank(item)
                if body.strip().startswith('{'):
                    rows.append(_split(src, at + body.index('{') + 1))
                else:  # an array of plain values: each a row of one column
                    rows.append([(at, item)])
        for row in rows:
            for col, (at, item) in enumerate(row):
                text = _blank(item)
                d = re.match(r'\s*\.(\w+)\s*=', text)
                if d:
                    col = d.group(1)
                    at, text = at + d.end(), text[d.end():]
                if not RUN.fullmatch(text) or '"' not in text:
                    continue
                sql = ''.join(re.findall(LITERAL, text)).replace('\\"', '"')
                if STMT.match(sql):
                    yield src.count('\n', 0, at + text.index('"')) + 1, m.group(1), col, sql
