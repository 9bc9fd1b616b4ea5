-- realistic: a static POST, so wrk spends nothing per request
wrk.method = "POST"
wrk.body = "{\"query\":\"query CatalogPage($filter: ErrorFilter, $first: Int!, $after: String) {\\n  catalog {\\n    name\\n    version\\n    errors(filter: $filter, first: $first, after: $after) {\\n      nodes {\\n        ...ErrorFields\\n        __typename\\n      }\\n      totalCount\\n      hasNextPage\\n      endCursor\\n      __typename\\n    }\\n    __typename\\n  }\\n}\\n\\nfragment ErrorFields on CatalogError {\\n  id\\n  code\\n  slug\\n  class\\n  status\\n  graphqlCode\\n  message\\n  description\\n  advice\\n  deprecatedSince\\n  __typename\\n}\",\"operationName\":\"CatalogPage\",\"variables\":{\"filter\":{\"domain\":\"auth\"},\"first\":10}}"
wrk.headers["Content-Type"] = "application/json"
