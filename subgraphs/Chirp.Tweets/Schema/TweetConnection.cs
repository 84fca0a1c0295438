using Chirp.Subgraphs;
using Chirp.Tweets.Data;
using GraphQL;
using GraphQL.Types;

namespace Chirp.Tweets.Schema;

/// <summary>One edge of a <see cref="TweetPage"/>.</summary>
public sealed record TweetEdge(string Cursor, Tweet Node);

/// <summary>Relay <c>PageInfo</c> (forward paging only).</summary>
public sealed record PageInfo(bool HasNextPage, string? EndCursor);

/// <summary>A page of tweets, newest first (Relay cursor connections specification).</summary>
public sealed record TweetPage(IReadOnlyList<TweetEdge> Edges, PageInfo PageInfo)
{
    public static readonly TweetPage Empty = new([], new PageInfo(false, null));
}

/// <summary>Reads <c>first</c>/<c>after</c> and loads a page of a user's tweets.</summary>
public static class TweetPaging
{
    public const int DefaultPageSize = 20;
    public const int MaxPageSize = 100;

    /// <summary>
    /// Loads the page that the field's <c>first</c> (1..100, default 20) and <c>after</c> (a cursor from this
    /// connection) ask for. A null <paramref name="authorId"/> (a malformed user id) gives an empty page.
    /// </summary>
    /// <exception cref="ExecutionError">BAD_USER_INPUT for <c>first</c> out of range or an <c>after</c> that is not a cursor.</exception>
    public static async Task<TweetPage> LoadAsync(IResolveFieldContext context, Guid? authorId)
    {
        var first = context.GetArgument<int?>("first") ?? DefaultPageSize;
        if (first is < 1 or > MaxPageSize)
        {
            throw CodedErrors.BadUserInput($"'first' must be between 1 and {MaxPageSize}.");
        }

        TweetCursor? after = null;
        var afterText = context.GetArgument<string?>("after");
        if (afterText is not null)
        {
            after = TweetCursor.TryDecode(afterText, out var cursor)
                ? cursor
                : throw CodedErrors.BadUserInput("'after' is not a cursor of this connection.");
        }

        if (authorId is not { } author)
        {
            return TweetPage.Empty;
        }

        var (tweets, hasNext) = await context.Tweets().ListByAuthorAsync(author, first, after, context.CancellationToken);
        var edges = tweets.Select(t => new TweetEdge(TweetCursor.Of(t).Encode(), t)).ToList();
        return new TweetPage(edges, new PageInfo(hasNext, edges.Count > 0 ? edges[^1].Cursor : null));
    }
}

/// <summary><c>type TweetConnection { edges, nodes, pageInfo }</c>.</summary>
public sealed class TweetConnectionGraphType : ObjectGraphType<TweetPage>
{
    public TweetConnectionGraphType()
    {
        Name = "TweetConnection";
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TweetEdgeGraphType>>>, IEnumerable<TweetEdge>>("edges").Resolve(ctx => ctx.Source.Edges);
        Field<NonNullGraphType<ListGraphType<NonNullGraphType<TweetGraphType>>>, IEnumerable<Tweet>>("nodes").Resolve(ctx => ctx.Source.Edges.Select(e => e.Node));
        Field<NonNullGraphType<PageInfoGraphType>, PageInfo>("pageInfo").Resolve(ctx => ctx.Source.PageInfo);
    }
}

/// <summary><c>type TweetEdge { cursor, node }</c>.</summary>
public sealed class TweetEdgeGraphType : ObjectGraphType<TweetEdge>
{
    public TweetEdgeGraphType()
    {
        Name = "TweetEdge";
        Field<NonNullGraphType<StringGraphType>, string>("cursor").Resolve(ctx => ctx.Source.Cursor);
        Field<NonNullGraphType<TweetGraphType>, Tweet>("node").Resolve(ctx => ctx.Source.Node);
    }
}

/// <summary><c>type PageInfo { hasNextPage, endCursor }</c>.</summary>
public sealed class PageInfoGraphType : ObjectGraphType<PageInfo>
{
    public PageInfoGraphType()
    {
        Name = "PageInfo";
        Field<NonNullGraphType<BooleanGraphType>, bool>("hasNextPage").Resolve(ctx => ctx.Source.HasNextPage);
        Field<StringGraphType, string?>("endCursor").Resolve(ctx => ctx.Source.EndCursor);
    }
}
